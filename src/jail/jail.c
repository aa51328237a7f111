/*
 * jail.c - one job: RootFS, fresh work dir, steps, outputs, cleanup.
 * Every path out of jail_run() goes through the same cleanup: the run's
 * tmpfs mounts are released and its cgroups removed (job_stage_clear), so a
 * job leaves nothing behind whether it succeeded, timed out or failed.
 */
#include "jail/jail_private.h"

#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#define JAIL_DEFAULT_TMPFS (64ull << 20)
#define JAIL_GC_EVERY 256

static int job_check_spec(const struct jail_spec *s, struct jail_error *e)
{
	if (!s->rootfs || !*s->rootfs)
		return util_fail(e, "check job", EINVAL, "no RootFS");
	if (s->nsteps < 1 || s->nsteps > JAIL_MAX_STEPS || !s->steps)
		return util_fail(e, "check job", EINVAL, "1 to %d steps", JAIL_MAX_STEPS);
	for (size_t i = 0; i < s->nsteps; i++) {
		if (!s->steps[i].argv || !s->steps[i].argv[0])
			return util_fail(e, "check job", EINVAL, "step %zu has no argv", i);
		if (s->steps[i].limits.wall_time_ms == 0)
			return util_fail(e, "check job", EINVAL, "step %zu has no wall-time limit", i);
	}
	return 0;
}

/* The prepared RootFS for this real path: cached, since preparing costs a
 * handful of mounts; a switched `current` link resolves to a new path and
 * gets prepared on its first use, while the old one ages out. */
static struct mnt_root *job_root_get(struct jail *j, const char *real, struct jail_error *e)
{
	struct mnt_root *lru = &j->roots[0];
	for (int i = 0; i < JAIL_MAX_ROOTS; i++) {
		struct mnt_root *r = &j->roots[i];
		if (r->ready && strcmp(r->path, real) == 0) {
			r->last_used = j->runs + 1;
			return r;
		}
		if (!r->ready || r->last_used < lru->last_used)
			lru = r;
	}
	mnt_release_root(lru);
	if (mnt_prepare_root(lru, real, e) < 0)
		return NULL;
	lru->last_used = j->runs + 1;
	return lru;
}

/* ---- per-run resources: made ahead (next), removed after (done) ----
 * A job needs fresh tmpfs mounts and a cgroup per step, and leaves them to
 * remove.  jail_idle(), called by the responder once the answer is sent,
 * removes the last job's and makes the next job's, including the first
 * step's pid 1, prepared up to the program's start (launch.c), so a
 * request pays only for what differs; without it jail_run() does both
 * itself. */

static void job_stage_clear(struct jail *j, int which)
{
	__typeof__(j->next) *st = which ? &j->done : &j->next;
	launch_warm_discard(&st->warm);        /* before its mounts and cgroups */
	sup_reap_deferred(&st->init_pid);
	mnt_run_release(&st->run, st->root ? st->root->path : NULL);
	st->root = NULL;
	for (int i = 0; i < JAIL_MAX_STEPS; i++) {
		cg_run_destroy(st->cg[i]);
		st->cg[i] = NULL;
	}
}
#define STAGE_NEXT 0
#define STAGE_DONE 1

/* What a warm interpreter a job did not fit left: its pid 1 (killed) to
 * reap, then its cgroup (which holds its processes until then). */
static void job_grave_clear(struct jail *j)
{
	sup_reap_deferred(&j->grave.init_pid);
	j->grave.keep_fd = fd_close(j->grave.keep_fd);
	cg_run_destroy(j->grave.cg);
	j->grave.cg = NULL;
}

/* The prepared stage with a warm interpreter, discarded for a job that
 * does not fit it: as job_stage_clear(STAGE_NEXT), but the interpreter's
 * end is not waited for on the request path.  Its pid 1 is killed now;
 * the tmpfs it saw are detached now (the job gets fresh ones); the
 * cgroup it is in goes once it is reaped, at the next jail_idle(). */
static void job_stage_bury(struct jail *j)
{
	job_grave_clear(j);              /* at most one: normally empty here */
	j->grave.init_pid = launch_warm_abandon(&j->next.warm, &j->grave.keep_fd);
	j->grave.cg = j->next.cg[0];
	j->next.cg[0] = NULL;
	job_stage_clear(j, STAGE_NEXT);
}

void job_release_stages(struct jail *j)
{
	job_grave_clear(j);
	job_stage_clear(j, STAGE_DONE);
	job_stage_clear(j, STAGE_NEXT);
}

static int job_prepare_next(struct jail *j, struct mnt_root *root, uint64_t work, uint64_t tmp,
                            bool late_program, struct jail_error *e);

int jail_idle(struct jail *j, struct jail_error *e)
{
	struct mnt_root *root = j->done.root;
	uint64_t work = j->done.work_bytes, tmp = j->done.tmp_bytes;
	job_stage_clear(j, STAGE_DONE);
	job_grave_clear(j);
	if (j->next.root || !root)
		return 0;
	return job_prepare_next(j, root, work, tmp, false, e);
}

const char *jail_warm_key(const struct jail *j)
{
	return launch_warm_key(j->next.warm);
}

/* Warm interpreters only where every limit is a cgroup's (the CPU limit
 * counts from the handover, which only the cgroup's usage can tell) and
 * pid 1 is prepared ahead (CLONE_VM). */
static bool job_can_warm(const struct jail *j)
{
	return j->use_clone_vm && !j->info.limits_degraded && j->info.cpu_accounting &&
	       j->info.memory_limit && j->info.pids_limit;
}

bool jail_can_warm(const struct jail *j)
{
	return job_can_warm(j);
}

int jail_idle_warm(struct jail *j, const struct jail_warm_spec *w, struct jail_error *e)
{
	if (!w || !job_can_warm(j))
		return jail_idle(j, e);
	job_stage_clear(j, STAGE_DONE);
	job_grave_clear(j);
	const char *key = launch_warm_key(j->next.warm);
	if (key && strcmp(key, w->key) == 0)
		return 0;                  /* already waiting: it has seen nothing */
	/* A stage without it, or with another: everything fresh. */
	job_stage_clear(j, STAGE_NEXT);
	char real[PATH_MAX];
	if (!realpath(w->rootfs, real))
		return util_fail(e, "resolve RootFS", errno, "%s", w->rootfs);
	struct mnt_root *root = job_root_get(j, real, e);
	if (!root)
		return -1;
	uint64_t work = w->work_bytes ? w->work_bytes : JAIL_DEFAULT_TMPFS;
	uint64_t tmp = w->tmp_bytes ? w->tmp_bytes : JAIL_DEFAULT_TMPFS;
	/* The zygote's interpreter takes the program's place: none is made. */
	bool forked = j->warm_fork && w->fork_boot;
	if (job_prepare_next(j, root, work, tmp, forked, e) < 0 || !j->next.warm) {
		job_stage_clear(j, STAGE_NEXT);
		return j->next.warm ? -1 : util_fail(e, "warm start", EAGAIN, "no prepared pid 1");
	}
	/* Its cgroup limits are the warm ones until a job lowers them. */
	if (cg_run_limits(j->next.cg[0], &w->limits, e) < 0 ||
	    launch_warm_program(j, j->next.warm, w, e) < 0) {
		/* Fail closed: nothing of a half-started interpreter (its
		 * cgroup's charges, its tmpfs) is kept for a job. */
		job_stage_clear(j, STAGE_NEXT);
		return -1;
	}
	return 0;
}

static int job_prepare_next(struct jail *j, struct mnt_root *root, uint64_t work, uint64_t tmp,
                            bool late_program, struct jail_error *e)
{
	/* Fresh per run still: these mounts have never been used.  Detached
	 * when the kernel allows: most jobs have one step (job_stage_begin). */
	if (mnt_run_mounts(&j->next.run, root->path, j->run_detach, work, tmp, j->map_uid, j->map_gid,
	                   e) < 0)
		return -1;
	j->next.root = root;
	j->next.work_bytes = work;
	j->next.tmp_bytes = tmp;
	if (cg_run_make(&j->cg, &j->next.cg[0], e) < 0) {
		job_stage_clear(j, STAGE_NEXT);
		return -1;
	}
	/* And the next job's pid 1, up to the point where only the job is
	 * missing.  If that fails, the mounts and cgroup stay prepared, the
	 * job starts its own pid 1 (and reports why if that fails too), and
	 * the caller hears of it now (the responder logs sandbox.idle.failed). */
	struct jail_error local;
	return launch_warm_start(j, root->path, &j->next.run, j->next.cg[0], late_program,
	                         &j->next.warm, e ? e : &local);
}

/* Whether the job may use the warm interpreter of the prepared stage:
 * NULL if so, else why not.  Its memory use must be under the job's
 * limit, which the cgroup gets before the handover. */
static const char *job_warm_misfit(struct jail *j, const struct jail_spec *spec)
{
	const char *why = launch_warm_misfit(j->next.warm, spec->warm_key, &spec->steps[0].limits);
	uint64_t used;
	if (why)
		return why;
	if (spec->nsteps != 1)
		return "steps";
	/* The interpreter alone in its cgroup, alive: one that died while it
	 * waited (pid 1, blocked, has not reaped it) cannot take a job. */
	unsigned n;
	if (cg_run_nprocs(j->next.cg[0], &n) < 0 || n != 1)
		return "not running";
	if (cg_run_mem_current(j->next.cg[0], &used) < 0 || used >= spec->steps[0].limits.memory_bytes)
		return "memory in use";
	return NULL;
}

/* Claims the prepared stage when it fits this job, else makes the mounts;
 * says in res whether its warm interpreter serves it. */
static struct mnt_root *job_stage_begin(struct jail *j, const struct jail_spec *spec, uint64_t work,
                                         uint64_t tmp, struct jail_result *res)
{
	char real[PATH_MAX];
	struct jail_error *e = &res->error;
	const char *rootfs = spec->rootfs;
	job_stage_clear(j, STAGE_DONE);
	if (!realpath(rootfs, real)) {
		util_fail(e, "resolve RootFS", errno, "%s", rootfs);
		return NULL;
	}
	/* A job of several steps needs attached mounts (every step's pid 1
	 * copies them from our namespace); detached ones that a prepared pid 1
	 * took serve only through it, alive. */
	bool detach = j->run_detach && spec->nsteps == 1;
	bool same_root = j->next.root && strcmp(j->next.root->path, real) == 0 &&
	                 j->next.run.detached == detach &&
	                 (!j->next.run.moved || launch_warm_alive(j->next.warm));
	bool fits = same_root && j->next.work_bytes == work && j->next.tmp_bytes == tmp;
	/* A warm interpreter serves only the job it fits.  Any other job
	 * gets a wholly fresh stage: the interpreter's charges in the
	 * cgroup would count as the job's, and nothing made for it is
	 * reused (not resized either). */
	const char *misfit = launch_warm_key(j->next.warm) || spec->warm_key ?
	                     (fits ? job_warm_misfit(j, spec) : "other template") : "";
	res->warm = misfit == NULL;
	res->cold_reason = spec->warm_key ? misfit : NULL;
	if (misfit && launch_warm_key(j->next.warm)) {
		job_stage_bury(j);
		same_root = fits = false;
	}
	/* Other sizes (a session's quota beside one-shot runs): the prepared,
	 * unused mounts are resized rather than made again with a new pid 1. */
	if (same_root && !fits &&
	    mnt_run_resize(&j->next.run, real, j->next.work_bytes, work, j->next.tmp_bytes, tmp) == 0)
		fits = true;
	if (!fits)
		job_stage_clear(j, STAGE_NEXT);
	struct mnt_root *r = job_root_get(j, real, e);
	if (!r)
		return NULL;
	if (!fits && mnt_run_mounts(&j->next.run, r->path, detach, work, tmp, j->map_uid,
	                            j->map_gid, e) < 0)
		return NULL;
	/* From here every resource of the job is in `done`, whatever happens. */
	j->done.root = r;
	j->done.run = j->next.run;
	j->next.run = (struct mnt_run){ .fd = { -1, -1, -1 } };
	j->done.work_bytes = work;
	j->done.tmp_bytes = tmp;
	j->done.cg[0] = j->next.cg[0];
	j->next.cg[0] = NULL;
	j->done.warm = j->next.warm;
	j->next.warm = NULL;
	j->next.root = NULL;
	return r;
}

static int job_steps(struct jail *j, const struct jail_spec *spec, const char *root,
                     struct mnt_run *run, struct jail_result *res)
{
	for (size_t i = 0; i < spec->nsteps; i++) {
		struct jail_step_result *sr = &res->steps[i];
		res->nsteps = i + 1;
		if (!j->done.cg[i] && cg_run_make(&j->cg, &j->done.cg[i], &res->error) < 0)
			return -1;
		/* pid 1 may finish exiting later only if nothing on the host
		 * reads what the jail left: files are read when every jail
		 * process is dead, and the next step must start on a quiet /work. */
		bool last = i + 1 == spec->nsteps && spec->noutputs == 0 && !spec->result_path &&
		            !spec->work_hooks;
		if (sup_run_step(j, spec, &spec->steps[i], root, run, j->done.cg[i],
		                 i == 0 ? &j->done.warm : NULL, sr,
		                 last ? &j->done.init_pid : NULL, &res->cancelled, &res->error) < 0)
			return -1;
		if (sr->status != JAIL_SUCCESS || res->cancelled) {
			/* A failed step (e.g. compile) stops the job; later steps
			 * are reported as never started. */
			for (size_t k = i + 1; k < spec->nsteps; k++) {
				res->steps[k].status = JAIL_NOT_RUN;
				res->steps[k].out.data = calloc(1, 1);
				res->steps[k].err.data = calloc(1, 1);
			}
			res->nsteps = spec->nsteps;
			break;
		}
	}
	return 0;
}

int jail_run(struct jail *j, const struct jail_spec *spec, struct jail_result *res)
{
	memset(res, 0, sizeof *res);
	struct jail_error *e = &res->error;
	if (job_check_spec(spec, e) < 0)
		return -1;
	uint64_t work = spec->work_bytes ? spec->work_bytes : JAIL_DEFAULT_TMPFS;
	uint64_t tmp = spec->tmp_bytes ? spec->tmp_bytes : JAIL_DEFAULT_TMPFS;
	struct mnt_root *r = job_stage_begin(j, spec, work, tmp, res);
	if (!r)
		return -1;
	j->runs++;
	if (j->runs % JAIL_GC_EVERY == 0)
		cg_gc(&j->cg, false);
	int rc = 0;
	/* The first step's cgroup, with its limits, before the copy-in that
	 * is charged to it (wd_import). */
	if (spec->work_hooks && spec->work_hooks->import) {
		if (!j->done.cg[0])
			rc = cg_run_make(&j->cg, &j->done.cg[0], e);
		if (rc == 0)
			rc = cg_run_limits(j->done.cg[0], &spec->steps[0].limits, e);
		if (rc == 0)
			rc = wd_import(&j->done.run, spec->work_hooks, j->done.cg[0], j->map_uid, j->map_gid, e);
	}
	if (rc == 0)
		rc = wd_write_files(&j->done.run, spec, j->map_uid, j->map_gid, e);
	if (rc == 0)
		rc = job_steps(j, spec, r->path, &j->done.run, res);
	/* Every process of the jail is dead here (no deferred pid 1 with
	 * work_hooks, see job_steps): the workspace can be read back. */
	if (rc == 0 && spec->work_hooks && spec->work_hooks->export)
		rc = wd_export(&j->done.run, spec->work_hooks, res, e);
	if (rc == 0 && !res->cancelled)   /* nobody is left to read the files */
		rc = wd_collect(&j->done.run, spec, res, e);
	if (rc < 0) {
		struct jail_error saved = *e;
		jail_result_free(res);
		res->error = saved;
	}
	return rc;
}

void jail_result_free(struct jail_result *res)
{
	if (!res)
		return;
	for (size_t i = 0; i < JAIL_MAX_STEPS; i++) {
		free(res->steps[i].out.data);
		free(res->steps[i].err.data);
	}
	for (size_t i = 0; i < res->nfiles; i++) {
		free(res->files[i].path);
		free(res->files[i].data);
	}
	free(res->files);
	free(res->result.data);
	memset(res, 0, sizeof *res);
}

int jail_selfcheck(struct jail *j, const char *rootfs, struct jail_error *err)
{
	char *argv[] = { "/bin/true", NULL };
	char *envp[] = { "PATH=/usr/bin:/bin", NULL };
	struct jail_step step = {
		.name = "selfcheck", .argv = argv,
		.limits = { .wall_time_ms = 5000, .memory_bytes = 64u << 20, .max_processes = 8,
		            .max_output_bytes = 4096, .max_file_bytes = 1u << 20, .max_open_files = 64 },
	};
	/* The sizes of the prepared stage, if any: a health check should not
	 * make the next real job prepare its mounts again. */
	struct jail_spec spec = { .rootfs = rootfs, .envp = envp, .steps = &step, .nsteps = 1,
	                          .work_bytes = j->next.work_bytes, .tmp_bytes = j->next.tmp_bytes };
	struct jail_result res;
	int rc = jail_run(j, &spec, &res);
	if (rc < 0) {
		if (err)
			*err = res.error;
		return -1;
	}
	int ok = res.steps[0].status == JAIL_SUCCESS;
	if (!ok && err)
		util_fail(err, "selfcheck", EIO, "/bin/true ended as %s (exit %d, signal %d)",
		          jail_status_name(res.steps[0].status), res.steps[0].exit_code, res.steps[0].signal);
	jail_result_free(&res);
	return ok ? 0 : -1;
}

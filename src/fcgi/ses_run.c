/*
 * ses_run.c - POST /api/sandbox/sessions/{id}/run: a run whose /work is the
 * session's workspace (docs/SESSIONS.md, "Quota model" and "Concurrency").
 *
 * The body and the answer are POST /run's (the session's template, its
 * defaults under the request's values, a plain entrypoint allowed), plus a
 * "session" object. Under the session lock, taken without waiting (409
 * session_busy otherwise): the run's /work is a tmpfs of the session's
 * quota, the workspace is copied in before the inputs are written
 * (replace_inputs: the body's files replace those of the workspace), and
 * once every process of the jail is dead it is committed back (work.new,
 * then RENAME_EXCHANGE) unless the run was cancelled or filled /work: then
 * the workspace stays exactly as it was. A DELETE of the session renames
 * its directory away: the run notices within 50 ms (the cancelled hook) and
 * is killed; the DELETE waits for the lock before removing the tree.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "api/req.h"
#include "api/resp.h"
#include "fcgi/log.h"
#include "fcgi/ses_json.h"
#include "fcgi/stream.h"

struct ses_run {
	struct ses_store *st;
	const char *id;
	int sdirfd;                  /* STATE/sessions/<id>, opened under the lock */
	dev_t sdir_dev;
	ino_t sdir_ino;
	uint64_t quota;
	bool committed, over, deleted;
	uint64_t used;
	uint64_t import_bytes;       /* the workspace's charge before the run */
};

static int hook_fail(struct jail_error *e, const char *step, const struct ses_error *se)
{
	snprintf(e->step, sizeof e->step, "%s", step);
	e->err = se->err ? se->err : EIO;
	snprintf(e->detail, sizeof e->detail, "%.120s", se->msg);
	return -1;
}

static int hook_import(void *arg, int work_fd, uid_t uid, gid_t gid, struct jail_error *e)
{
	struct ses_run *sr = arg;
	struct ses_error se = { 0 };
	int ws = openat(sr->sdirfd, "work", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	int rc;

	if (ws < 0) {
		se.err = errno;
		snprintf(se.msg, sizeof se.msg, "open workspace");
		return hook_fail(e, "session copy-in", &se);
	}
	rc = ses_copy_in(ws, work_fd, uid, gid, &se);
	close(ws);
	return rc < 0 ? hook_fail(e, "session copy-in", &se) : 0;
}

/* The session's directory no longer has its name: a DELETE renamed it to
 * .del-<id>-<rand> (or it was deleted and made again: another inode). */
static bool hook_cancelled(void *arg)
{
	struct ses_run *sr = arg;
	struct stat sb;

	if (fstatat(sr->st->sessfd, sr->id, &sb, AT_SYMLINK_NOFOLLOW) != 0 ||
	    sb.st_ino != sr->sdir_ino || sb.st_dev != sr->sdir_dev)
		sr->deleted = true;
	return sr->deleted;
}

static int hook_export(void *arg, int work_fd, const struct jail_result *res,
                       struct jail_error *e)
{
	struct ses_run *sr = arg;
	struct ses_error se = { 0 };

	/* Cancelled (client gone, session deleted) or /work full (a write
	 * failed ENOSPC, so a file may be cut short): nothing is committed,
	 * the workspace is the one from before the run. */
	if (res->cancelled || hook_cancelled(sr))
		return 0;
	if (res->work_full) {
		sr->over = true;
		return 0;
	}
	if (ses_commit(sr->sdirfd, work_fd, sr->quota, &sr->over, &sr->used, &se) < 0)
		return hook_fail(e, "session commit", &se);
	sr->committed = !sr->over;
	return 0;
}

static int check_headers(struct ses_op *op)
{
	struct svc_refusal no;

	if (svc_json_body_refusal(op->s, op->r, &no) == 0)
		return 0;
	ses_op_refuse(op, no.status, no.code, no.msg, NULL);
	return -1;
}

/* The body, with the session's template and defaults. 0, or answered. */
static int parse_body(struct ses_op *op, const struct ses_meta *m, struct req_job *job)
{
	struct req_session_run sr = { .tmpl = m->tmpl, .defaults = m->defaults };
	struct req_error err;

	svc_refresh_registry(op->s);
	memset(&err, 0, sizeof err);
	if (req_parse_session_run_stream(http_body_read, op->r, &op->s->cfg.req, &op->s->reg, &sr,
	                                 job, &err) < 0) {
		ses_op_refuse(op, err.http_status > 0 ? err.http_status : 400, err.code, err.message,
		              err.field);
		return -1;
	}
	return 0;
}

/* Under the lock: the session's directory, and the count of its runs. */
static int begin(struct ses_op *op, struct ses_run *sr, struct ses_error *e)
{
	struct stat sb;

	sr->sdirfd = ses_dir_open(sr->st, op->id, e);
	if (sr->sdirfd < 0)
		return -1;
	if (fstat(sr->sdirfd, &sb) != 0) {
		e->status = 500;
		e->err = errno;
		snprintf(e->code, sizeof e->code, "session_failure");
		snprintf(e->msg, sizeof e->msg, "fstat of the session's directory failed");
		return -1;
	}
	sr->sdir_dev = sb.st_dev;
	sr->sdir_ino = sb.st_ino;
	/* What the copy-in will write decides where it is charged (struct
	 * jail_work_hooks): under the lock, the workspace cannot change. */
	int ws = openat(sr->sdirfd, "work", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	struct ses_error ue;
	sr->import_bytes = UINT64_MAX;
	if (ws >= 0 && ses_usage(ws, &sr->import_bytes, &ue) != 0)
		sr->import_bytes = UINT64_MAX;
	if (ws >= 0)
		close(ws);
	return ses_touch(sr->st, op->id, ses_now_ceil(), e);
}

/* After the run, still under the lock: runs + 1 in meta.json. A session
 * deleted meanwhile has no meta.json to update. */
static void count_run(struct ses_op *op, struct ses_run *sr)
{
	struct ses_error e;
	struct ses_meta m;

	/* Used until the end of the run: the idle timeout counts from here. */
	if (sr->deleted || ses_touch(sr->st, op->id, ses_now_ceil(), &e) != 0 ||
	    ses_load(sr->st, op->id, (int64_t)time(NULL), &m, &e) != 0)
		return;
	m.runs++;
	if (ses_meta_save(sr->st, &m, &e) != 0)
		log_event("error", "sandbox.session.failure",
		          json_pack("{s:s, s:s, s:s, s:i, s:s}", "request_id", op->r->request_id,
		                    "op", "run", "session_id", op->id, "errno", e.err,
		                    "message", e.msg));
	ses_meta_clear(&m);
}

/* bytes_used: the committed tree's charge, else the workspace's as it is. */
static json_t *session_json(const struct ses_op *op, struct ses_run *sr)
{
	uint64_t used = sr->used;

	if (!sr->committed) {
		struct ses_error e;
		int ws = sr->deleted ? -1
		                     : openat(sr->sdirfd, "work",
		                              O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);

		used = 0;
		if (ws >= 0) {
			if (ses_usage(ws, &used, &e) != 0)
				used = 0;
			close(ws);
		}
	}
	return json_pack("{s:s, s:b, s:b, s:b, s:I}", "id", op->id, "committed", sr->committed,
	                 "quota_exceeded", sr->over, "deleted", sr->deleted,
	                 "bytes_used", (json_int_t)used);
}

/* ---- refusals of the client's, not failures of the sandbox ----
 *
 * jail_run() writes the copy-in and then the inputs into the run's /work;
 * three of its failures there are the client's: a workspace over the run's
 * memory limit (the copy-in is charged to the run), an input file's path
 * that clashes with the workspace, and input files over the quota.
 * precheck() finds them before anything runs, from the workspace as it is
 * under the lock and the rules jail_run() follows (wd_write_one, the tmpfs
 * of the quota charging whole pages, ses_usage), so that a streamed run
 * can still answer them as the whole answer does, with a 4xx instead of
 * its 200. Whatever it cannot foresee (a long symlink's page, a workspace
 * just under the memory limit that the copy-in child's own pages push
 * over it) is still caught by jail_run() and mapped by after_error(). */
struct refusal {
	int status;
	const char *code, *msg, *field;
};

static const struct refusal refuse_quota = {
	413, "quota_exceeded", "the input files do not fit the session's disk quota", "files"
};
static const struct refusal refuse_clash = {
	400, "invalid_field",
	"an input file's path clashes with the workspace (a directory at its name, or a file or "
	"symlink on its way)", "files"
};
static const struct refusal refuse_memory = {
	400, "invalid_field",
	"the workspace does not fit the run's memory limit (a run holds its files in memory): "
	"raise limits.memory_mb", "limits.memory_mb"
};

static uint64_t page_up(uint64_t n)
{
	return n / SES_PAGE * SES_PAGE + (n % SES_PAGE ? SES_PAGE : 0);
}

/* Walks path in the workspace ws as wd_write_one will, never following a
 * link: true when it clashes (a directory at its name, a non-directory or
 * a symlink on its way). *replaced: the charge of the regular file the
 * input replaces. An error other than a clash is left to the run. */
static bool input_clashes(int ws, const char *path, uint64_t *replaced)
{
	char rel[PATH_MAX];
	char *save = NULL, *comp, *next;
	struct stat sb;
	bool clash = false;
	int cur;

	*replaced = 0;
	if ((size_t)snprintf(rel, sizeof rel, "%s", path) >= sizeof rel)
		return false;
	cur = fcntl(ws, F_DUPFD_CLOEXEC, 0);
	for (comp = strtok_r(rel, "/", &save); cur >= 0 && comp; comp = next) {
		next = strtok_r(NULL, "/", &save);
		if (fstatat(cur, comp, &sb, AT_SYMLINK_NOFOLLOW) != 0)
			break;                 /* not there: the run makes it */
		if (!next) {
			clash = S_ISDIR(sb.st_mode);
			if (S_ISREG(sb.st_mode))
				*replaced = page_up((uint64_t)sb.st_size);
			break;
		}
		if (!S_ISDIR(sb.st_mode)) {
			clash = true;
			break;
		}
		int nfd = openat(cur, comp, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		close(cur);
		cur = nfd;
	}
	if (cur >= 0)
		close(cur);
	return clash;
}

/* Under the lock (the workspace cannot change): the refusal jail_run()
 * would make, in the order it would make it, or NULL. */
static const struct refusal *precheck(const struct ses_run *sr, const struct jail_spec *spec)
{
	uint64_t charge = sr->import_bytes, limit = page_up(sr->quota);
	uint64_t mem = spec->nsteps ? spec->steps[0].limits.memory_bytes : 0;
	const struct refusal *out = NULL;
	int ws;

	if (charge == UINT64_MAX)
		return NULL;                   /* unknown: the run decides */
	/* A copy-in above the inline size is charged to the run's cgroup,
	 * whose memory.max is memory_bytes and which may not swap: the copy
	 * alone reaches the limit (wd_import). */
	if (charge > JAIL_IMPORT_INLINE_MAX && mem && charge >= mem)
		return &refuse_memory;
	ws = openat(sr->sdirfd, "work", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (ws < 0)
		return NULL;
	for (size_t i = 0; !out && i < spec->nfiles; i++) {
		uint64_t replaced;

		if (spec->files[i].base != JAIL_IN_WORK)
			continue;
		if (input_clashes(ws, spec->files[i].path, &replaced)) {
			out = &refuse_clash;
			break;
		}
		/* The old file's pages go before the new one is written. */
		charge = (charge > replaced ? charge - replaced : 0) + page_up(spec->files[i].len);
		if (charge > limit)
			out = &refuse_quota;
	}
	close(ws);
	return out;
}

/* The same three, found by jail_run() itself (what precheck() could not
 * foresee). NULL: a sandbox failure. */
static const struct refusal *after_error(const struct jail_error *e)
{
	if (strcmp(e->step, "write input file") == 0 && (e->err == ENOSPC || e->err == EDQUOT))
		return &refuse_quota;
	if (strcmp(e->step, "write input file") == 0 &&
	    (e->err == EISDIR || e->err == ENOTDIR || e->err == ELOOP))
		return &refuse_clash;
	if (strcmp(e->step, "session copy-in") == 0 && e->err == ENOMEM)
		return &refuse_memory;
	return NULL;
}

/* ---- the run ---- */

struct ses_job {
	struct ses_op *op;
	struct ses_run *sr;
	int lock;
	bool streamed;
	const struct refusal *refused;     /* after_error's, when jail_run() failed */
	json_t *session;                   /* the answer's "session" (owned) */
};

/* After jail_run(), before the answer (stream_after_fn for a streamed
 * run): the run counted, the lock let go, the "session" object made, and
 * a failure sorted into the client's refusals and the sandbox's. */
static json_t *after_run(void *arg, int rc, struct jail_result *res, struct resp_opts *o)
{
	struct ses_job *sj = arg;

	if (rc == 0)
		count_run(sj->op, sj->sr);
	/* The lock goes before the answer: a client that gets it may run
	 * again at once without a 409. */
	close(sj->lock);
	sj->lock = -1;
	if (rc == 0) {
		sj->session = session_json(sj->op, sj->sr);
		o->session = sj->session;
		return NULL;
	}
	sj->refused = after_error(&res->error);
	if (!sj->refused || !sj->streamed)
		return NULL;
	return resp_error(sj->refused->code, sj->refused->msg, sj->refused->field);
}

static void run(struct ses_op *op, struct ses_run *sr, struct req_job *job, int lock)
{
	struct svc *s = op->s;
	struct jail_work_hooks hooks = { .import = hook_import, .export = hook_export,
	                                 .cancelled = hook_cancelled, .arg = sr,
	                                 .import_bytes = sr->import_bytes };
	struct ses_job sj = { .op = op, .sr = sr, .lock = lock };
	const char *rt_name = job->runtime ? job->runtime->name : "";
	const char *tmpl_name = job->tmpl ? job->tmpl->name : "";
	const char *status = NULL;
	const struct refusal *no;
	struct jail_result res;
	struct jail_spec spec;
	struct resp_opts ro;
	struct run_facts f;
	int rc;

	svc_run_facts(job, &f);
	memset(&spec, 0, sizeof spec);
	memset(&res, 0, sizeof res);
	/* The handler's context, as for POST /run: this request's id and
	 * its wall limit. */
	if (req_job_context_env(job, op->r->request_id) < 0 ||
	    req_job_spec(job, &s->cfg.req, &spec) < 0) {
		close(lock);
		ses_op_refuse(op, 500, "internal", "could not prepare the job", NULL);
		return;
	}
	/* Before the run, and before a streamed run's 200. */
	if ((no = precheck(sr, &spec))) {
		close(lock);
		ses_op_refuse(op, no->status, no->code, no->msg, no->field);
		return;
	}
	spec.cancel_on_hangup = true;
	spec.cancel_fd = op->r->fx->ipcFd;
	spec.work_bytes = sr->quota;
	spec.work_hooks = &hooks;
	spec.replace_inputs = true;
	memset(&ro, 0, sizeof ro);
	ro.has_compile = spec.nsteps > 1;
	ro.handler_mode = job->handler_mode;
	ro.status_out = &status;
	ro.job_id = f.job_id;
	ro.output_encoding = f.output_encoding;
	ro.report_warm = true;     /* never warm: /work is the session's own */
	sj.streamed = svc_wants_stream(op->r, job);
	svc_run_log_start(op->r, job, &f, op->id);
	if (sj.streamed) {
		/* The 200 is out before the run: the result line is made after
		 * the copy-back (after_run), a failure is the last line. */
		rc = stream_run(op->r, s->jail, &spec, &res, &ro, after_run, &sj);
	} else {
		rc = jail_run(s->jail, &spec, &res);
		after_run(&sj, rc, &res, &ro);
	}
	if (rc < 0) {
		if (sj.refused && sj.streamed) {
			ses_op_done(op, 200, json_pack("{s:s, s:b}", "code", sj.refused->code,
			                               "streamed", true));
		} else if (sj.refused) {
			ses_op_refuse(op, sj.refused->status, sj.refused->code, sj.refused->msg,
			              sj.refused->field);
		} else {
			met_setup_failure(s->met.store, res.error.step);
			met_run(s->met.store, rt_name, tmpl_name, "sandbox_failure",
			        http_elapsed_ms(&op->r->t0));
			svc_run_sandbox_failure(op->r, &res.error, sj.streamed);
		}
		jail_result_free(&res);
		return;
	}
	req_job_free(job);
	if (!sj.streamed)
		http_send_result(op->r, &res, &ro);
	if (!status)
		status = resp_status(&res, &ro, false);
	svc_run_log_finish(op->r, &res, status, &f, op->id);
	met_run(s->met.store, rt_name, tmpl_name, status, http_elapsed_ms(&op->r->t0));
	ses_op_done(op, 200, json_pack("{s:s, s:b, s:b, s:b, s:b}", "status", status, "committed",
	                               sr->committed, "quota_exceeded", sr->over, "deleted",
	                               sr->deleted, "streamed", sj.streamed));
	json_decref(sj.session);
	jail_result_free(&res);
}

void svc_handle_session_run(struct svc *s, struct http_req *r, const struct route *rt)
{
	struct ses_op op = { .s = s, .r = r, .op = "run" };
	struct ses_run sr = { .st = &s->store, .sdirfd = -1 };
	struct ses_error e;
	struct ses_meta m;
	struct req_job job;
	int lock;

	memset(&e, 0, sizeof e);
	memset(&job, 0, sizeof job);
	if (ses_op_id(&op, rt) < 0 || check_headers(&op) < 0)
		return;
	sr.id = op.id;
	if (ses_load(&s->store, op.id, (int64_t)time(NULL), &m, &e) != 0) {
		ses_op_fail(&op, &e);
		return;
	}
	sr.quota = m.disk_bytes;
	/* The body is read before the lock is taken: a slow client must not
	 * hold the session. */
	if (parse_body(&op, &m, &job) < 0) {
		ses_meta_clear(&m);
		req_job_free(&job);
		return;
	}
	ses_meta_clear(&m);
	lock = ses_lock(&s->store, op.id, false, &e);
	if (lock < 0 || begin(&op, &sr, &e) < 0) {
		if (lock >= 0)
			close(lock);
		ses_op_fail(&op, &e);
	} else {
		run(&op, &sr, &job, lock);
	}
	if (sr.sdirfd >= 0)
		close(sr.sdirfd);
	req_job_free(&job);
}

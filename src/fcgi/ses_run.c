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

/* Input files that do not fit /work (the session's quota) are the
 * client's 413, not a sandbox failure. */
static bool inputs_over_quota(const struct jail_error *e)
{
	return strcmp(e->step, "write input file") == 0 && (e->err == ENOSPC || e->err == EDQUOT);
}

static void run(struct ses_op *op, struct ses_run *sr, struct req_job *job, int lock)
{
	struct svc *s = op->s;
	struct jail_work_hooks hooks = { .import = hook_import, .export = hook_export,
	                                 .cancelled = hook_cancelled, .arg = sr,
	                                 .import_bytes = sr->import_bytes };
	const char *rt_name = job->runtime ? job->runtime->name : "";
	const char *tmpl_name = job->tmpl ? job->tmpl->name : "";
	const char *status = NULL;
	struct jail_result res;
	struct jail_spec spec;
	struct resp_opts ro;
	struct run_facts f;
	int rc;

	svc_run_facts(job, &f);
	memset(&spec, 0, sizeof spec);
	memset(&res, 0, sizeof res);
	if (req_job_spec(job, &s->cfg.req, &spec) < 0) {
		close(lock);
		ses_op_refuse(op, 500, "internal", "could not prepare the job", NULL);
		return;
	}
	spec.cancel_on_hangup = true;
	spec.cancel_fd = op->r->fx->ipcFd;
	spec.work_bytes = sr->quota;
	spec.work_hooks = &hooks;
	spec.replace_inputs = true;
	svc_run_log_start(op->r, job, &f, op->id);
	rc = jail_run(s->jail, &spec, &res);
	if (rc == 0)
		count_run(op, sr);
	/* The lock goes before the answer: a client that gets it may run
	 * again at once without a 409. */
	close(lock);
	if (rc < 0) {
		if (inputs_over_quota(&res.error)) {
			ses_op_refuse(op, 413, "quota_exceeded",
			              "the input files do not fit the session's disk quota", "files");
		} else if (strcmp(res.error.step, "write input file") == 0 &&
		           (res.error.err == EISDIR || res.error.err == ENOTDIR ||
		            res.error.err == ELOOP)) {
			ses_op_refuse(op, 400, "invalid_field",
			              "an input file's path clashes with the workspace (a directory "
			              "at its name, or a file or symlink on its way)",
			              "files");
		} else if (strcmp(res.error.step, "session copy-in") == 0 &&
		           res.error.err == ENOMEM) {
			ses_op_refuse(op, 400, "invalid_field",
			              "the workspace does not fit the run's memory limit (a run holds "
			              "its files in memory): raise limits.memory_mb",
			              "limits.memory_mb");
		} else {
			met_setup_failure(s->met.store, res.error.step);
			met_run(s->met.store, rt_name, tmpl_name, "sandbox_failure",
			        http_elapsed_ms(&op->r->t0));
			svc_run_sandbox_failure(op->r, &res.error, false);
		}
		jail_result_free(&res);
		return;
	}
	memset(&ro, 0, sizeof ro);
	ro.has_compile = spec.nsteps > 1;
	ro.handler_mode = job->handler_mode;
	ro.status_out = &status;
	ro.session = session_json(op, sr);
	ro.job_id = f.job_id;
	ro.output_encoding = f.output_encoding;
	ro.report_warm = true;     /* never warm: /work is the session's own */
	req_job_free(job);
	http_send_result(op->r, &res, &ro);
	if (!status)
		status = resp_status(&res, &ro, false);
	svc_run_log_finish(op->r, &res, status, &f, op->id);
	met_run(s->met.store, rt_name, tmpl_name, status, http_elapsed_ms(&op->r->t0));
	ses_op_done(op, 200, json_pack("{s:s, s:b, s:b, s:b}", "status", status, "committed",
	                               sr->committed, "quota_exceeded", sr->over, "deleted",
	                               sr->deleted));
	json_decref(ro.session);
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

/*
 * async_exec.c - the executor of asynchronous runs: an idle responder
 * claims the oldest queued run (src/async: a rename, exactly one winner)
 * when one of the async slots is free, runs it in its jail like POST /run
 * would, keeps the result on disk and records the state. The slots bound
 * how many responders run async jobs at once, so that the rest of the pool
 * stays free for synchronous requests (docs/OPERATIONS.md, "Asynchronous
 * runs").
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "api/req.h"
#include "api/resp.h"
#include "api/resp_stream.h"
#include "fcgi/log.h"
#include "fcgi/svc.h"

#define SWEEP_INTERVAL_MS 10000

static volatile sig_atomic_t stop_flag;
/* The cancel FIFO of the run being executed (runs dir fd, "<id>/cancel"),
 * for the signal handler; armed only around jail_run(). */
static int stop_dirfd = -1;
static char stop_fifo[AQ_ID_MAX + 16];
static volatile sig_atomic_t stop_armed;

void svc_async_on_stop_signal(void)
{
	int fd;

	stop_flag = 1;
	if (!stop_armed)
		return;
	/* open + close of the write end: the jail sees the hang-up. */
	fd = openat(stop_dirfd, stop_fifo, O_WRONLY | O_NONBLOCK | O_CLOEXEC);
	if (fd >= 0)
		close(fd);
}

bool svc_stopping(void)
{
	return stop_flag != 0;
}

static void log_sweep(const char *event, const struct aq_state *run, void *ctx)
{
	(void)ctx;
	if (strcmp(event, "interrupted") == 0)
		log_event("warning", "sandbox.async.interrupted",
		          json_pack("{s:s, s:s}", "run_id", run->id, "message", run->error_msg));
	else
		log_event("info", "sandbox.async.removed", json_pack("{s:s}", "run_id", run->id));
}

void svc_async_open(struct svc *s)
{
	struct aq_error e;
	unsigned pool = s->cfg.pool_size;
	unsigned as = s->cfg.async_slots ? (unsigned)s->cfg.async_slots : (pool / 2 ? pool / 2 : 1);
	unsigned ws = s->cfg.wait_slots ? (unsigned)s->cfg.wait_slots : pool;

	/* Async runs may run longer than synchronous ones: nobody holds a
	 * connection open for them. */
	s->async_req = s->cfg.req;
	s->async_req.wall_time_ms.max = s->cfg.async_max_wall_ms;
	if (s->async_req.cpu_time_ms.max < s->cfg.async_max_wall_ms)
		s->async_req.cpu_time_ms.max = s->cfg.async_max_wall_ms;
	memset(&e, 0, sizeof e);
	s->aq_ok = aq_open(s->cfg.state_dir, as, ws, &s->aq, &e) == 0;
	if (!s->aq_ok)
		log_event("warning", "sandbox.start.async",
		          json_pack("{s:s, s:s}", "state_dir", s->cfg.state_dir, "message", e.msg));
	if (s->aq_ok && s->cfg.cb.nallow > 0) {
		struct cb_error ce;

		s->cb_ok = cb_store_open(s->cfg.state_dir, &s->cbs, &ce) == 0;
		if (!s->cb_ok)
			log_event("warning", "sandbox.start.callbacks",
			          json_pack("{s:s, s:s}", "state_dir", s->cfg.state_dir,
			                    "message", ce.msg));
	}
}

static void fail_state(struct aq_state *st, const char *code, const char *msg,
                       const char *field, int http)
{
	st->status = AQ_FAILED;
	/* Cut to fit on purpose (a request error's message is 512 bytes,
	 * the kept state's 256): the precision says so to the compiler. */
	snprintf(st->error_code, sizeof st->error_code, "%.*s", (int)sizeof st->error_code - 1, code);
	snprintf(st->error_msg, sizeof st->error_msg, "%.*s", (int)sizeof st->error_msg - 1, msg);
	snprintf(st->error_field, sizeof st->error_field, "%.*s", (int)sizeof st->error_field - 1,
	         field ? field : "");
	st->error_http = http;
}

struct file_sink {
	int fd;
};

static int file_put(const char *buf, size_t len, void *data)
{
	struct file_sink *k = data;

	while (len > 0) {
		ssize_t n = write(k->fd, buf, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

/* The run's live output, appended to events.ndjson as the jail reads it
 * (jail_spec.on_output), for GET /runs/{id}/events, in the lines of a
 * streamed run (api/resp_stream.c: text when valid UTF-8, else base64 of
 * the exact bytes; a character split between two reads is held back and
 * sent whole with the next).  A regular file takes the write at once, so
 * the supervisor is not held up; a failed write stops the file (the
 * reader then sees no "end" until the run is over and ends on the state
 * instead). */
struct events_sink {
	int fd;
	bool compiled;               /* steps[0] is a compile step */
	struct resp_nd_buf line;
	struct resp_nd_carry carry[2];   /* stdout, stderr */
	size_t carry_step;
};

static void events_put(struct events_sink *k, const char *text, size_t len)
{
	if (k->fd >= 0 && len && write(k->fd, text, len) != (ssize_t)len) {
		close(k->fd);
		k->fd = -1;
	}
}

static void events_write(struct events_sink *k, json_t *o)
{
	char *line = o ? json_dumps(o, JSON_COMPACT) : NULL;
	size_t len = line ? strlen(line) : 0;

	json_decref(o);
	if (line) {
		line[len] = '\n';   /* replaces the NUL: one write per line */
		events_put(k, line, len + 1);
	}
	free(line);
}

static const char *events_step_name(const struct events_sink *k, size_t step)
{
	return k->compiled ? (step == 0 ? "compile" : "run") : NULL;
}

/* The held bytes of both streams of a step that ended (or of the run) go
 * out as they are. */
static void events_end_carries(struct events_sink *k)
{
	for (int i = 0; i < 2; i++)
		if (k->carry[i].n)
			resp_nd_output(&k->line, &k->carry[i], events_step_name(k, k->carry_step), i + 1,
			               NULL, 0, true);
}

static void on_output(void *arg, size_t step, int stream, const char *data, size_t len)
{
	struct events_sink *k = arg;

	if (k->fd < 0 || len == 0)
		return;
	k->line.len = 0;
	if (step != k->carry_step) {
		events_end_carries(k);
		k->carry_step = step;
	}
	resp_nd_output(&k->line, &k->carry[stream - 1], events_step_name(k, step), stream, data, len,
	               false);
	events_put(k, k->line.p, k->line.len);
}

/* The last line: the run is over (its state and result: GET /runs/{id}). */
static void events_end(struct svc *s, const struct aq_state *st)
{
	struct events_sink k = { .fd = aq_events_open(&s->aq, st->id, true) };

	if (k.fd < 0)
		return;
	events_write(&k, json_pack("{s:s, s:s, s:s}", "type", "end", "run_id", st->id, "status",
	                           aq_status_name(st->status)));
	if (k.fd >= 0)
		close(k.fd);
}

/* result.json: the object POST /run would have answered. */
static int keep_result(struct svc *s, const struct aq_state *st, const struct jail_result *res,
                       const struct resp_opts *o)
{
	char name[64];
	struct file_sink k;
	int ok;

	k.fd = aq_result_tmp(&s->aq, st->id, name, sizeof name);
	if (k.fd < 0)
		return -1;
	ok = resp_result_write(res, o, file_put, &k) == 0;
	return aq_result_commit(&s->aq, st->id, k.fd, name, ok);
}

/* Runs a parsed job; st gets the outcome. */
static void execute_job(struct svc *s, struct aq_state *st, struct req_job *job, int cancel_fd,
                        const char **status, struct events_sink *ek)
{
	struct jail_spec spec;
	struct jail_result res;
	struct resp_opts ro;
	const char *rt_name = job->runtime ? job->runtime->name : "";
	const char *tmpl_name = job->tmpl ? job->tmpl->name : "";
	struct timespec t0;
	int rc;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	memset(&spec, 0, sizeof spec);
	memset(&res, 0, sizeof res);
	if (req_job_spec(job, &s->async_req, &spec) < 0) {
		fail_state(st, "internal", "could not prepare the job", NULL, 500);
		return;
	}
	/* DELETE /runs/{id} hangs up the FIFO: the jail treats it as a client
	 * that left and kills the running step at once. */
	spec.cancel_on_hangup = cancel_fd >= 0;
	spec.cancel_fd = cancel_fd;
	ek->compiled = spec.nsteps > 1;
	spec.on_output = on_output;
	spec.output_arg = ek;
	met_shm_busy(&s->met, true);
	snprintf(stop_fifo, sizeof stop_fifo, "%s/cancel", st->id);
	stop_dirfd = s->aq.runsfd;
	stop_armed = 1;
	if (stop_flag) {
		/* The signal came between the claim and here: do not start. */
		stop_armed = 0;
		met_shm_busy(&s->met, false);
		return;
	}
	rc = jail_run(s->jail, &spec, &res);
	stop_armed = 0;
	if (rc == 0 && res.cancelled && stop_flag && !aq_cancel_requested(&s->aq, st->id)) {
		/* Stopped by the shutdown, not by a client: run again later. */
		met_shm_busy(&s->met, false);
		jail_result_free(&res);
		return;
	}
	if (rc < 0) {
		met_shm_busy(&s->met, false);
		met_setup_failure(s->met.store, res.error.step);
		met_run(s->met.store, rt_name, tmpl_name, "sandbox_failure", http_elapsed_ms(&t0));
		fail_state(st, "sandbox_failure", res.error.detail[0] ? res.error.detail : res.error.step,
		           NULL, 500);
		jail_result_free(&res);
		return;
	}
	met_shm_busy(&s->met, false);
	memset(&ro, 0, sizeof ro);
	ro.has_compile = spec.nsteps > 1;
	ro.handler_mode = job->handler_mode;
	ro.status_out = status;
	ro.request_id = st->request_id;
	ro.report_warm = true;     /* never warm: an asynchronous run has no warm_key */
	if (keep_result(s, st, &res, &ro) < 0) {
		fail_state(st, "async_failure", "the result could not be kept on disk", NULL, 500);
	} else {
		st->status = res.cancelled ? AQ_CANCELLED : AQ_DONE;
	}
	if (!*status)
		*status = resp_status(&res, &ro, false);
	met_run(s->met.store, rt_name, tmpl_name, *status, http_elapsed_ms(&t0));
	jail_result_free(&res);
}

static void execute(struct svc *s, struct aq_state *st, struct req_job *job, int cancel_fd,
                    const char **status)
{
	struct events_sink ek = { .fd = aq_events_open(&s->aq, st->id, true) };

	execute_job(s, st, job, cancel_fd, status, &ek);
	ek.line.len = 0;
	events_end_carries(&ek);
	events_put(&ek, ek.line.p, ek.line.len);
	resp_nd_buf_free(&ek.line);
	if (ek.fd >= 0)
		close(ek.fd);
}

/* A finished run with a callback_url: its run object (as GET /runs/{id}
 * answers) is queued under STATE/callbacks, where sandbox-callbacks
 * delivers it. Not delivered from here: this process lives in a network
 * namespace of its own with only lo (jail_new(), docs/SECURITY.md), so
 * svc_async_idle() has nothing to pump; the deliverer runs on the host's
 * network (docs/OPERATIONS.md, "Callbacks"). */
static void notify_done(struct svc *s, const struct aq_state *st)
{
	struct cb_error e;
	char *body;
	size_t len = 0;

	if (!st->callback_url[0])
		return;
	if (!s->cb_ok) {
		/* accepted while callbacks were on; the operator turned them off */
		log_event("warning", "sandbox.async.callback_dropped",
		          json_pack("{s:s, s:s}", "run_id", st->id, "message",
		                    "callbacks are off (no --callback-allow or no state directory)"));
		return;
	}
	body = svc_run_text(s, st, CB_BODY_MAX, &len);
	if (!body)
		snprintf(e.msg, sizeof e.msg, "run object: %s", strerror(errno));
	if (!body || cb_enqueue(&s->cbs, st->id, st->callback_url, body, len,
	                        svc_now_ms() / 1000, &e) < 0)
		log_event("error", "sandbox.async.callback_failed",
		          json_pack("{s:s, s:s}", "run_id", st->id, "message", e.msg));
	else
		log_event("info", "sandbox.async.callback_queued",
		          json_pack("{s:s, s:I}", "run_id", st->id, "bytes", (json_int_t)len));
	free(body);
}

/* Back in the queue at its old place (its key keeps its acceptance time):
 * a restart of the pool runs it again instead of losing it. */
static void requeue(struct svc *s, struct aq_claim *c, struct aq_state *st)
{
	struct aq_error e;

	st->status = AQ_QUEUED;
	st->started_ms = 0;
	if (aq_save(&s->aq, st, &e) < 0 || aq_requeue(&s->aq, c) < 0) {
		log_event("error", "sandbox.async.failure",
		          json_pack("{s:s, s:s}", "run_id", st->id, "message", "could not requeue"));
		aq_claim_done(&s->aq, c);
		return;
	}
	log_event("info", "sandbox.async.requeued",
	          json_pack("{s:s, s:s}", "run_id", st->id, "reason", "the pool is stopping"));
}

static void run_claimed(struct svc *s, struct aq_claim *c)
{
	struct aq_state st;
	struct aq_error e;
	struct req_job job;
	struct req_error err;
	char *body = NULL;
	size_t len = 0;
	const char *status = NULL;
	int cfd;

	if (aq_load(&s->aq, c->id, &st, &e) < 0) {
		aq_claim_done(&s->aq, c);
		return;
	}
	st.status = AQ_RUNNING;
	st.started_ms = svc_now_ms();
	aq_save(&s->aq, &st, NULL);
	log_event("info", "sandbox.async.start",
	          json_pack("{s:s, s:s, s:I}", "run_id", st.id, "request_id", st.request_id,
	                    "queued_ms", (json_int_t)(st.started_ms - st.created_ms)));
	/* The FIFO before the marker check: see aq_cancel(). */
	cfd = aq_cancel_fd(&s->aq, st.id);
	svc_refresh_registry(s);
	memset(&job, 0, sizeof job);
	if (aq_cancel_requested(&s->aq, st.id)) {
		st.status = AQ_CANCELLED;
	} else if (aq_request_read(&s->aq, st.id, 2 * s->async_req.max_body_bytes + 4096, &body,
	                           &len) < 0) {
		fail_state(&st, "async_failure", "the kept request could not be read", NULL, 500);
	} else if (req_parse_run(body, len, &s->async_req, &s->reg, &job, &err) < 0) {
		/* Valid when accepted; the operator changed something since
		 * (a template removed, a cap lowered). */
		fail_state(&st, err.code, err.message, err.field, err.http_status);
	} else {
		free(body);
		body = NULL;
		execute(s, &st, &job, cfd, &status);
	}
	req_job_free(&job);
	free(body);
	if (cfd >= 0)
		close(cfd);
	if (st.status == AQ_RUNNING) {
		/* Not finished: the pool is stopping (execute() returned early). */
		requeue(s, c, &st);
		return;
	}
	st.finished_ms = svc_now_ms();
	/* The end line before the state: a reader that sees the final state
	 * finds the line already there. */
	events_end(s, &st);
	if (aq_save(&s->aq, &st, &e) < 0)
		log_event("error", "sandbox.async.failure",
		          json_pack("{s:s, s:s}", "run_id", st.id, "message", e.msg));
	aq_claim_done(&s->aq, c);
	log_event("info", st.status == AQ_CANCELLED ? "sandbox.async.cancelled" : "sandbox.async.finish",
	          json_pack("{s:s, s:s, s:s, s:s, s:I}", "run_id", st.id, "request_id", st.request_id,
	                    "state", aq_status_name(st.status), "status", status ? status : "",
	                    "duration_ms", (json_int_t)(st.finished_ms - st.started_ms)));
	notify_done(s, &st);
}

bool svc_async_work(struct svc *s)
{
	struct aq_claim c;
	int slot, got;

	if (!s->aq_ok || stop_flag || (slot = aq_slot_take(&s->aq, false)) < 0)
		return false;
	got = aq_claim_next(&s->aq, &c);
	if (got == 1)
		run_claimed(s, &c);
	close(slot);
	return got == 1;
}

void svc_async_idle(struct svc *s)
{
	int64_t now = svc_now_ms();

	if (!s->aq_ok || now < s->next_sweep_ms)
		return;
	s->next_sweep_ms = now + SWEEP_INTERVAL_MS;
	aq_sweep(&s->aq, now, s->cfg.async_retention_s * 1000, log_sweep, NULL);
}

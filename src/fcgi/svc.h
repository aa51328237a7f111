/*
 * svc.h - the responder's long-lived state and its request handlers.
 */
#ifndef SANDBOX_FCGI_SVC_H
#define SANDBOX_FCGI_SVC_H

#include <stdbool.h>
#include <stdint.h>
#include <fcgiapp.h>

#include "api/rt.h"
#include "api/warm.h"
#include "async/async.h"
#include "fcgi/cfg.h"
#include "fcgi/http.h"
#include "fcgi/metrics_shm.h"
#include "fcgi/reg_watch.h"
#include "fcgi/route.h"
#include "fcgi/warm_pick.h"
#include "jail/jail.h"
#include "session/session.h"

struct svc {
	struct fcgi_cfg cfg;
	struct jail *jail;           /* made once by jail_new() */
	struct rt_registry reg;
	struct reg_watch regw;       /* tells when reg must be rescanned */
	struct met_shm met;          /* the pool's shared metrics */
	struct req_warm warm;        /* what jail_idle_warm() starts (key NULL: none) */
	char warm_rt[32], warm_tmpl[64]; /* its runtime and template, for /info */
	struct warm_pick warm_pick;  /* --warm-runtime auto: the recent runs */
	bool warm_deferred;          /* the stage was made without its interpreter
	                              * because a request was waiting (main.c) */
	/* Asynchronous runs (async_exec.c, runs.c): off (aq_ok false) when
	 * the state directory is unusable; /run works without them. */
	struct aq_store aq;
	bool aq_ok;
	struct req_config async_req; /* cfg.req with the async wall-time cap */
	/* Callbacks of finished runs are queued here (STATE/callbacks) for
	 * sandbox-callbacks; off (cb_ok false) without --callback-allow. */
	struct cb_store cbs;
	bool cb_ok;
	int64_t next_sweep_ms;
	int listen_fd;               /* a long poll gives way when a request waits */
	struct ses_store store;      /* sessions under cfg.state_dir, opened at start */
	int64_t last_sweep;          /* CLOCK_MONOTONIC s of the last sweep attempt */
};


/* Answers one accepted request. Never exits the process. */
void svc_dispatch(struct svc *s, FCGX_Request *fx);

void svc_handle_run(struct svc *s, struct http_req *r);
/* Content-Type and Content-Length checks of a JSON POST: 0, or -1 with
 * the refusal (415, 400, 413) to answer; svc_check_json_headers answers
 * it itself (the session endpoints log theirs as session operations). */
struct svc_refusal {
	int status;
	const char *code;
	char msg[128];
};
int svc_json_body_refusal(const struct svc *s, const struct http_req *r,
                          struct svc_refusal *out);
int svc_check_json_headers(const struct svc *s, struct http_req *r);
/* The asynchronous runs API (runs.c). */
void svc_handle_runs_submit(struct svc *s, struct http_req *r, bool batch);
void svc_handle_runs_get(struct svc *s, struct http_req *r);
void svc_handle_runs_list(struct svc *s, struct http_req *r);
void svc_handle_runs_cancel(struct svc *s, struct http_req *r);
void svc_handle_runs_events(struct svc *s, struct http_req *r);
/* A run as GET /runs/{id} answers it (request_id included), in memory, its
 * result at most max bytes: the body of its callback. NULL with errno. */
char *svc_run_text(struct svc *s, const struct aq_state *st, size_t max, size_t *outlen);
/* The executor (async_exec.c). svc_async_open: at start-up, not fatal.
 * svc_async_work: runs the oldest queued run when an async slot is free;
 * true when it ran one. svc_async_idle: the periodic sweep. */
void svc_async_open(struct svc *s);
bool svc_async_work(struct svc *s);
void svc_async_idle(struct svc *s);
/* Shutdown (SIGUSR1 from multiwatch, SIGTERM): async-signal-safe. Sets
 * the flag svc_stopping() reads and hangs up the cancel FIFO of an async
 * run being executed, which is then put back in the queue for the next
 * pool (docs/OPERATIONS.md, "Asynchronous runs"). */
void svc_async_on_stop_signal(void);
bool svc_stopping(void);
int64_t svc_now_ms(void);
void svc_handle_health(struct svc *s, struct http_req *r);
void svc_handle_info(struct svc *s, struct http_req *r);
void svc_handle_runtimes(struct svc *s, struct http_req *r);
void svc_handle_metrics(struct svc *s, struct http_req *r);
void svc_handle_openapi(struct svc *s, struct http_req *r);

/* Session endpoints (ses_http.c, ses_files.c, ses_run.c); rt holds the
 * {id} and {path} parts of the raw REQUEST_URI. */
void svc_handle_session(struct svc *s, struct http_req *r, const struct route *rt);
void svc_handle_session_files(struct svc *s, struct http_req *r, const struct route *rt);
void svc_handle_session_run(struct svc *s, struct http_req *r, const struct route *rt);
/* After the answer: the opportunistic expiry sweep, at most every
 * SVC_SWEEP_EVERY_S per responder (docs/SESSIONS.md, "Expiry"). */
#define SVC_SWEEP_EVERY_S 30
void svc_sweep_idle(struct svc *s);
/* Creates cfg.state_dir (0700) if missing and opens the store into
 * s->store: 0, or -1 with msg saying why (ses_admin.c). */
int svc_store_open(struct svc *s, char *msg, size_t msglen);
/* --sweep-sessions, --list-sessions, --purge-sessions: the exit status. */
int svc_command(struct svc *s);
/* What POST /run and a session run share (run.c): the sandbox.run.start
 * and sandbox.run.finish events (session_id: NULL, or added), and the 500
 * of a jail_run() that failed. */
struct req_job;
/* What the logs say about a job, kept past req_job_free(): the answer is
 * written after the job's memory is let go. */
struct run_facts {
	char job_id[REQ_MAX_JOB_ID + 1];
	const char *output_encoding;
	json_int_t input_files, input_bytes;
	bool warm;                       /* served by a warm interpreter */
	const char *cold_reason;         /* a warm one is kept but did not serve it */
};
void svc_run_facts(const struct req_job *job, struct run_facts *f);
/* The answer's options of a job as POST /run and a session run share them
 * (a session run adds its "session" object). */
void svc_run_resp_opts(const struct jail_spec *spec, const struct req_job *job,
                       const struct run_facts *f, const char **status_out, struct resp_opts *ro);
void svc_run_log_start(const struct http_req *r, const struct req_job *job,
                       const struct run_facts *f, const char *session_id);
void svc_run_log_finish(const struct http_req *r, const struct jail_result *res,
                        const char *status, const struct run_facts *f, const char *session_id);
/* Live output (docs/API.md): "stream" in the body decides; without it, an
 * Accept header that names application/x-ndjson. */
bool svc_wants_stream(const struct http_req *r, const struct req_job *job);
/* streamed: the 200 is out, the failure went as the stream's error line. */
void svc_run_sandbox_failure(struct http_req *r, const struct jail_error *e, bool streamed);

/* Reloads RootFS templates whose `current` link moved, when the watch saw
 * a change (reg_watch.h); logs a failure. */
void svc_refresh_registry(struct svc *s);

#endif

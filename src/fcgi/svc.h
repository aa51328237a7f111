/*
 * svc.h - the responder's long-lived state and its request handlers.
 */
#ifndef SANDBOX_FCGI_SVC_H
#define SANDBOX_FCGI_SVC_H

#include <fcgiapp.h>

#include "api/rt.h"
#include "fcgi/cfg.h"
#include "fcgi/http.h"
#include "fcgi/metrics_shm.h"
#include "fcgi/route.h"
#include "jail/jail.h"
#include "session/session.h"

struct svc {
	struct fcgi_cfg cfg;
	struct jail *jail;           /* made once by jail_new() */
	struct rt_registry reg;
	struct met_shm met;          /* the pool's shared metrics */
	struct ses_store store;      /* sessions under cfg.state_dir, opened at start */
	int64_t last_sweep;          /* CLOCK_MONOTONIC s of the last sweep attempt */
};

/* Answers one accepted request. Never exits the process. */
void svc_dispatch(struct svc *s, FCGX_Request *fx);

void svc_handle_run(struct svc *s, struct http_req *r);
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
void svc_run_log_start(const struct http_req *r, const struct req_job *job,
                       const char *session_id);
void svc_run_log_finish(const struct http_req *r, const struct jail_result *res,
                        const char *status, const char *session_id);
void svc_run_sandbox_failure(struct http_req *r, const struct jail_error *e);

/* Reloads RootFS templates whose `current` link moved; logs a failure. */
void svc_refresh_registry(struct svc *s);

#endif

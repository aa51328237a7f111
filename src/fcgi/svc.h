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
#include "jail/jail.h"

struct svc {
	struct fcgi_cfg cfg;
	struct jail *jail;           /* made once by jail_new() */
	struct rt_registry reg;
	struct met_shm met;          /* the pool's shared metrics */
};

/* Answers one accepted request. Never exits the process. */
void svc_dispatch(struct svc *s, FCGX_Request *fx);

void svc_handle_run(struct svc *s, struct http_req *r);
void svc_handle_health(struct svc *s, struct http_req *r);
void svc_handle_info(struct svc *s, struct http_req *r);
void svc_handle_runtimes(struct svc *s, struct http_req *r);
void svc_handle_metrics(struct svc *s, struct http_req *r);
void svc_handle_openapi(struct svc *s, struct http_req *r);

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

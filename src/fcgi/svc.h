/*
 * svc.h - the responder's long-lived state and its request handlers.
 */
#ifndef SANDBOX_FCGI_SVC_H
#define SANDBOX_FCGI_SVC_H

#include <fcgiapp.h>

#include "api/rt.h"
#include "api/warm.h"
#include "fcgi/cfg.h"
#include "fcgi/http.h"
#include "fcgi/metrics_shm.h"
#include "fcgi/reg_watch.h"
#include "jail/jail.h"

struct svc {
	struct fcgi_cfg cfg;
	struct jail *jail;           /* made once by jail_new() */
	struct rt_registry reg;
	struct reg_watch regw;       /* tells when reg must be rescanned */
	struct met_shm met;          /* the pool's shared metrics */
	struct req_warm warm;        /* what jail_idle_warm() starts (key NULL: none) */
	bool warm_failed_logged;
};

/* Between requests: the last job's cleanup and the next one's jail, with
 * the warm interpreter of cfg.warm_runtime when there is one (main.c). */
void svc_idle(struct svc *s);

/* Answers one accepted request. Never exits the process. */
void svc_dispatch(struct svc *s, FCGX_Request *fx);

void svc_handle_run(struct svc *s, struct http_req *r);
void svc_handle_health(struct svc *s, struct http_req *r);
void svc_handle_info(struct svc *s, struct http_req *r);
void svc_handle_runtimes(struct svc *s, struct http_req *r);
void svc_handle_metrics(struct svc *s, struct http_req *r);
void svc_handle_openapi(struct svc *s, struct http_req *r);

/* Reloads RootFS templates whose `current` link moved, when the watch saw
 * a change (reg_watch.h); logs a failure. */
void svc_refresh_registry(struct svc *s);

#endif

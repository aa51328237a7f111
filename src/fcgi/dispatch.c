/*
 * dispatch.c - from an accepted FastCGI request to a handler: routing, the
 * 404/405 answers, and the queue-age check that turns a request which waited
 * too long behind busy responders into a fast 503 (see docs/OPERATIONS.md,
 * "Overload").
 */
#include <stdio.h>

#include "fcgi/log.h"
#include "fcgi/route.h"
#include "fcgi/svc.h"

static void answer_overloaded(struct http_req *r)
{
	log_event("warning", "sandbox.request.overloaded",
	          json_pack("{s:s, s:I}", "request_id", r->request_id,
	                    "queued_ms", (json_int_t)r->queued_ms));
	http_send_error(r, 503, "overloaded",
	                "all sandbox workers were busy for too long; retry later",
	                NULL, "Retry-After: 1\r\n");
}

static void answer_bad_method(struct http_req *r, const char *allow)
{
	char hdr[64], msg[96];

	snprintf(hdr, sizeof hdr, "Allow: %s\r\n", allow);
	snprintf(msg, sizeof msg, "method not allowed here; use %s", allow);
	/* "GET, HEAD, DELETE" fits: route.h's allow is 40 bytes. */
	http_send_error(r, 405, "method_not_allowed", msg, NULL, hdr);
}

void svc_dispatch(struct svc *s, FCGX_Request *fx)
{
	struct http_req r;
	struct route rt;
	enum route_id id;

	http_req_init(&r, fx);
	/* Session paths carry client file names: routed on the raw
	 * REQUEST_URI and decoded once by the handler, never on nginx's
	 * decoded and dot-segment-merged DOCUMENT_URI, so that "%2e%2e" and
	 * ".." stay what the client sent (docs/API.md, "Paths"). A session
	 * route reached only through nginx's decoding is not one. */
	if (route_is_session_path(r.uri)) {
		id = route_resolve(r.method, r.uri, &rt);
	} else {
		id = route_resolve(r.method, r.path, &rt);
		if (route_is_session(id))
			id = ROUTE_NOT_FOUND;
	}
	if (id == ROUTE_RUN && r.queued_ms >= 0)
		met_queue_wait(s->met.store, (uint64_t)r.queued_ms);
	if (id != ROUTE_NOT_FOUND && id != ROUTE_BAD_METHOD && http_queue_expired(r.queued_ms, s->cfg.queue_timeout_ms)) {
		answer_overloaded(&r);
		return;
	}
	switch (id) {
	case ROUTE_RUN:
		/* Busy means running a job: a scrape is not counted. */
		met_shm_busy(&s->met, true);
		svc_handle_run(s, &r);
		met_shm_busy(&s->met, false);
		break;
	case ROUTE_RUNS_SUBMIT: svc_handle_runs_submit(s, &r, false); break;
	case ROUTE_RUNS_BATCH: svc_handle_runs_submit(s, &r, true); break;
	case ROUTE_RUNS_GET: svc_handle_runs_get(s, &r); break;
	case ROUTE_RUNS_LIST: svc_handle_runs_list(s, &r); break;
	case ROUTE_RUNS_CANCEL: svc_handle_runs_cancel(s, &r); break;
	case ROUTE_RUNS_EVENTS: svc_handle_runs_events(s, &r); break;
	case ROUTE_HEALTH: svc_handle_health(s, &r); break;
	case ROUTE_INFO: svc_handle_info(s, &r); break;
	case ROUTE_RUNTIMES: svc_handle_runtimes(s, &r); break;
	case ROUTE_METRICS: svc_handle_metrics(s, &r); break;
	case ROUTE_OPENAPI: svc_handle_openapi(s, &r); break;
	case ROUTE_SES_CREATE:
	case ROUTE_SES_LIST:
	case ROUTE_SES_GET:
	case ROUTE_SES_DELETE: svc_handle_session(s, &r, &rt); break;
	case ROUTE_SES_FILES:
	case ROUTE_SES_FILE_GET:
	case ROUTE_SES_FILE_PUT:
	case ROUTE_SES_FILE_DELETE: svc_handle_session_files(s, &r, &rt); break;
	case ROUTE_SES_RUN:
		met_shm_busy(&s->met, true);
		svc_handle_session_run(s, &r, &rt);
		met_shm_busy(&s->met, false);
		break;
	case ROUTE_BAD_METHOD: answer_bad_method(&r, rt.allow); break;
	case ROUTE_NOT_FOUND:
	default:
		http_send_error(&r, 404, "not_found", "no such endpoint", NULL, NULL);
		break;
	}
}

/*
 * route.h - maps (method, path) to an endpoint. Pure code.
 */
#ifndef SANDBOX_FCGI_ROUTE_H
#define SANDBOX_FCGI_ROUTE_H

#include <stddef.h>

enum route_id {
	ROUTE_RUN,
	ROUTE_HEALTH,
	ROUTE_INFO,
	ROUTE_RUNTIMES,
	ROUTE_METRICS,               /* Prometheus text format */
	ROUTE_OPENAPI,               /* docs/openapi.json, embedded at build time */
	ROUTE_RUNS_SUBMIT,           /* POST /runs */
	ROUTE_RUNS_LIST,             /* GET /runs?ids=... */
	ROUTE_RUNS_BATCH,            /* POST /runs/batch */
	ROUTE_RUNS_GET,              /* GET /runs/{id} */
	ROUTE_RUNS_CANCEL,           /* DELETE /runs/{id} */
	ROUTE_RUNS_EVENTS,           /* GET /runs/{id}/events */
	ROUTE_NOT_FOUND,
	ROUTE_BAD_METHOD,            /* path exists; *allow names the method */
};

#define ROUTE_PREFIX "/api/sandbox/"
#define ROUTE_RUNS ROUTE_PREFIX "runs"

/* The endpoint of method and path (a DOCUMENT_URI or a REQUEST_URI: the
 * part from '?' or '#' on is ignored). ROUTE_BAD_METHOD sets *allow. HEAD
 * matches a GET endpoint (RFC 9110 9.3.2: the same answer without body). */
enum route_id route_match(const char *method, const char *path, const char **allow);
/* The {id} segment of a /runs/{id} or /runs/{id}/events path (up to '?',
 * '#' or its end) into buf: 0, or -1 when path has none or it does not
 * fit. Not validated. */
int route_run_id(const char *path, char *buf, size_t len);

#endif

/*
 * route.h - maps (method, path) to an endpoint. Pure code.
 */
#ifndef SANDBOX_FCGI_ROUTE_H
#define SANDBOX_FCGI_ROUTE_H

#include <stdbool.h>
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
	ROUTE_SES_CREATE,            /* POST   sessions */
	ROUTE_SES_LIST,              /* GET    sessions */
	ROUTE_SES_GET,               /* GET    sessions/{id} */
	ROUTE_SES_DELETE,            /* DELETE sessions/{id} */
	ROUTE_SES_RUN,               /* POST   sessions/{id}/run */
	ROUTE_SES_FILES,             /* GET    sessions/{id}/files[?path=DIR] */
	ROUTE_SES_FILE_GET,          /* GET    sessions/{id}/files/{path} */
	ROUTE_SES_FILE_PUT,          /* PUT    sessions/{id}/files/{path} */
	ROUTE_SES_FILE_DELETE,       /* DELETE sessions/{id}/files/{path} */
	ROUTE_NOT_FOUND,
	ROUTE_BAD_METHOD,            /* path exists; allow names its methods */
};

#define ROUTE_PREFIX "/api/sandbox/"
#define ROUTE_RUNS ROUTE_PREFIX "runs"
#define ROUTE_SESSIONS ROUTE_PREFIX "sessions"

/* A matched request. The {id} and {path} parts point into the path given
 * to route_resolve, as sent (not decoded, not checked: the handler
 * validates them and answers the 400s). */
struct route {
	enum route_id id;
	char allow[40];              /* ROUTE_BAD_METHOD: "GET, HEAD, DELETE" */
	const char *sid;             /* {id}, or NULL */
	size_t sid_len;
	const char *file;            /* {path}, or NULL */
	size_t file_len;
	const char *query;           /* after '?' up to '#', or NULL */
	size_t query_len;
};

/* The endpoint of method and path (a DOCUMENT_URI or a REQUEST_URI: the
 * part from '?' or '#' on is not part of the path). ROUTE_BAD_METHOD fills
 * out->allow with every method of the path (HEAD after GET). HEAD matches
 * a GET endpoint (RFC 9110 9.3.2: the same answer without body). */
enum route_id route_resolve(const char *method, const char *path, struct route *out);
/* route_resolve without the parts; *allow points at a static copy. */
enum route_id route_match(const char *method, const char *path, const char **allow);
/* The {id} segment of a /runs/{id} or /runs/{id}/events path (up to '?',
 * '#' or its end) into buf: 0, or -1 when path has none or it does not
 * fit. Not validated. */
int route_run_id(const char *path, char *buf, size_t len);
/* Whether path (up to '?' or '#') is under ROUTE_SESSIONS: such requests
 * are routed on the raw REQUEST_URI, decoded once by the handler, never on
 * nginx's decoded and normalised DOCUMENT_URI (docs/API.md, "Paths"). */
bool route_is_session_path(const char *path);
/* Whether the endpoint is one of the session endpoints. */
bool route_is_session(enum route_id id);

#endif

/*
 * route.c - the endpoint table. One method per path keeps the answers to
 * OPTIONS simple: anything else is a 405 naming the one allowed method (and
 * HEAD, which a GET endpoint answers without its body).
 */
#include <stdbool.h>
#include <stddef.h>
#include <string.h>

#include "fcgi/route.h"

static const struct {
	const char *path;
	const char *method;
	enum route_id id;
} routes[] = {
	{ ROUTE_PREFIX "run", "POST", ROUTE_RUN },
	{ ROUTE_PREFIX "health", "GET", ROUTE_HEALTH },
	{ ROUTE_PREFIX "info", "GET", ROUTE_INFO },
	{ ROUTE_PREFIX "runtimes", "GET", ROUTE_RUNTIMES },
	{ ROUTE_PREFIX "metrics", "GET", ROUTE_METRICS },
	{ ROUTE_PREFIX "openapi.json", "GET", ROUTE_OPENAPI },
};

/* Length of the path part of a REQUEST_URI (up to '?' or '#'). */
static size_t route_path_len(const char *uri)
{
	return strcspn(uri, "?#");
}

static bool is_get(const char *method)
{
	return strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0;
}

/* The asynchronous runs' endpoints: two methods on some paths, and one
 * templated segment ({run_id} stands for any one segment), so a table of
 * their own (tests/integration/test_openapi.py reads both tables). */
static const struct {
	const char *path;
	const char *method;
	enum route_id id;
} runs_routes[] = {
	{ ROUTE_RUNS, "POST", ROUTE_RUNS_SUBMIT },
	{ ROUTE_RUNS, "GET", ROUTE_RUNS_LIST },
	{ ROUTE_RUNS "/batch", "POST", ROUTE_RUNS_BATCH },
	{ ROUTE_RUNS "/{run_id}", "GET", ROUTE_RUNS_GET },
	{ ROUTE_RUNS "/{run_id}", "DELETE", ROUTE_RUNS_CANCEL },
	{ ROUTE_RUNS "/{run_id}/events", "GET", ROUTE_RUNS_EVENTS },
};

/* The runs_routes path that path (plen bytes) is an instance of, or NULL. */
static const char *runs_template(const char *path, size_t plen, const char **allow)
{
	size_t base = strlen(ROUTE_RUNS);
	const char *rest = path + base, *slash;
	size_t rlen = plen - base;

	if (plen < base || strncmp(path, ROUTE_RUNS, base) != 0)
		return NULL;
	if (rlen == 0) {
		*allow = "GET, POST";
		return ROUTE_RUNS;
	}
	if (rest[0] != '/' || rlen == 1)
		return NULL;
	slash = memchr(rest + 1, '/', rlen - 1);
	if (slash) {
		/* {run_id}/events and nothing else below a run */
		if (slash == rest + 1 || (size_t)(path + plen - slash) != 7 ||
		    strncmp(slash, "/events", 7) != 0)
			return NULL;
		*allow = "GET";
		return ROUTE_RUNS "/{run_id}/events";
	}
	if (rlen == 6 && strncmp(rest, "/batch", 6) == 0) {
		*allow = "POST";
		return ROUTE_RUNS "/batch";
	}
	*allow = "GET, DELETE";
	return ROUTE_RUNS "/{run_id}";
}

static enum route_id match_runs(const char *method, const char *path, size_t plen,
                                const char **allow)
{
	const char *allowed = NULL, *tmpl = runs_template(path, plen, &allowed);

	if (!tmpl)
		return ROUTE_NOT_FOUND;
	for (size_t i = 0; i < sizeof runs_routes / sizeof runs_routes[0]; i++)
		if (strcmp(runs_routes[i].path, tmpl) == 0 &&
		    (strcmp(runs_routes[i].method, method) == 0 ||
		     (is_get(method) && strcmp(runs_routes[i].method, "GET") == 0)))
			return runs_routes[i].id;
	*allow = allowed;
	return ROUTE_BAD_METHOD;
}

int route_run_id(const char *path, char *buf, size_t len)
{
	size_t base = strlen(ROUTE_RUNS "/"), plen;

	if (!path || strncmp(path, ROUTE_RUNS "/", base) != 0)
		return -1;
	plen = route_path_len(path + base);
	/* {id}/events: the id is the part before the slash */
	if (memchr(path + base, '/', plen))
		plen = (size_t)((const char *)memchr(path + base, '/', plen) - (path + base));
	if (plen == 0 || plen >= len)
		return -1;
	memcpy(buf, path + base, plen);
	buf[plen] = '\0';
	return 0;
}

enum route_id route_match(const char *method, const char *path, const char **allow)
{
	enum route_id rid;
	size_t plen;

	if (!method || !path)
		return ROUTE_NOT_FOUND;
	plen = route_path_len(path);
	if ((rid = match_runs(method, path, plen, allow)) != ROUTE_NOT_FOUND)
		return rid;
	for (size_t i = 0; i < sizeof routes / sizeof routes[0]; i++) {
		if (strlen(routes[i].path) != plen || strncmp(routes[i].path, path, plen) != 0)
			continue;
		if (strcmp(routes[i].method, method) == 0 ||
		    (strcmp(method, "HEAD") == 0 && strcmp(routes[i].method, "GET") == 0))
			return routes[i].id;
		*allow = routes[i].method;
		return ROUTE_BAD_METHOD;
	}
	return ROUTE_NOT_FOUND;
}

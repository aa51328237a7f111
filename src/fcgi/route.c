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

/* /runs, /runs/batch, /runs/{id}: two methods on one path, so not in the
 * table. Returns ROUTE_NOT_FOUND for a path that is none of them. */
static enum route_id match_runs(const char *method, const char *path, size_t plen,
                                const char **allow)
{
	size_t base = strlen(ROUTE_RUNS);
	const char *rest = path + base;
	size_t rlen = plen - base;

	if (plen < base || strncmp(path, ROUTE_RUNS, base) != 0)
		return ROUTE_NOT_FOUND;
	if (rlen == 0) {
		if (strcmp(method, "POST") == 0)
			return ROUTE_RUNS_SUBMIT;
		if (is_get(method))
			return ROUTE_RUNS_LIST;
		*allow = "GET, POST";
		return ROUTE_BAD_METHOD;
	}
	if (rest[0] != '/' || rlen == 1 || memchr(rest + 1, '/', rlen - 1))
		return ROUTE_NOT_FOUND;
	if (rlen == 6 && strncmp(rest, "/batch", 6) == 0) {
		if (strcmp(method, "POST") == 0)
			return ROUTE_RUNS_BATCH;
		*allow = "POST";
		return ROUTE_BAD_METHOD;
	}
	if (is_get(method))
		return ROUTE_RUNS_GET;
	if (strcmp(method, "DELETE") == 0)
		return ROUTE_RUNS_CANCEL;
	*allow = "GET, DELETE";
	return ROUTE_BAD_METHOD;
}

int route_run_id(const char *path, char *buf, size_t len)
{
	size_t base = strlen(ROUTE_RUNS "/"), plen;

	if (!path || strncmp(path, ROUTE_RUNS "/", base) != 0)
		return -1;
	plen = route_path_len(path + base);
	if (plen == 0 || plen >= len || memchr(path + base, '/', plen))
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

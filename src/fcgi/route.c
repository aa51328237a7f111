/*
 * route.c - the endpoint table. One method per path keeps the answers to
 * OPTIONS simple: anything else is a 405 naming the one allowed method (and
 * HEAD, which a GET endpoint answers without its body).
 */
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

enum route_id route_match(const char *method, const char *path, const char **allow)
{
	size_t plen;

	if (!method || !path)
		return ROUTE_NOT_FOUND;
	plen = route_path_len(path);
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

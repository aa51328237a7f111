/*
 * route.c - the endpoint table: one entry per (path, method), so a path may
 * have several methods and a 405 names them all in its Allow header (with
 * HEAD after GET, which a GET endpoint answers without its body).
 * "{id}" matches one non-empty segment, "{path}" the non-empty rest of the
 * path (slashes included); both are handed to the handler as sent. A path
 * that a literal entry names (runs/batch) is that entry's only, never an
 * instance of a templated one (runs/{id}).
 */
#include <stdio.h>
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
	{ ROUTE_PREFIX "sessions", "GET", ROUTE_SES_LIST },
	{ ROUTE_PREFIX "sessions", "POST", ROUTE_SES_CREATE },
	{ ROUTE_PREFIX "sessions/{id}", "GET", ROUTE_SES_GET },
	{ ROUTE_PREFIX "sessions/{id}", "DELETE", ROUTE_SES_DELETE },
	{ ROUTE_PREFIX "sessions/{id}/run", "POST", ROUTE_SES_RUN },
	{ ROUTE_PREFIX "sessions/{id}/files", "GET", ROUTE_SES_FILES },
	{ ROUTE_PREFIX "sessions/{id}/files/{path}", "GET", ROUTE_SES_FILE_GET },
	{ ROUTE_PREFIX "sessions/{id}/files/{path}", "PUT", ROUTE_SES_FILE_PUT },
	{ ROUTE_PREFIX "sessions/{id}/files/{path}", "DELETE", ROUTE_SES_FILE_DELETE },
	{ ROUTE_RUNS, "GET", ROUTE_RUNS_LIST },
	{ ROUTE_RUNS, "POST", ROUTE_RUNS_SUBMIT },
	{ ROUTE_RUNS "/batch", "POST", ROUTE_RUNS_BATCH },
	{ ROUTE_RUNS "/{id}", "GET", ROUTE_RUNS_GET },
	{ ROUTE_RUNS "/{id}", "DELETE", ROUTE_RUNS_CANCEL },
	{ ROUTE_RUNS "/{id}/events", "GET", ROUTE_RUNS_EVENTS },
};
#define N_ROUTES (sizeof routes / sizeof routes[0])

/* Length of the path part of a REQUEST_URI (up to '?' or '#'). */
static size_t route_path_len(const char *uri)
{
	return strcspn(uri, "?#");
}

/* Whether path[0..len) matches pattern; fills the parts of out. */
static bool pattern_match(const char *pat, const char *path, size_t len, struct route *out)
{
	const char *p = path, *end = path + len;

	while (*pat) {
		if (strncmp(pat, "{id}", 4) == 0) {
			const char *slash = memchr(p, '/', (size_t)(end - p));
			const char *seg_end = slash ? slash : end;

			if (seg_end == p)
				return false;
			out->sid = p;
			out->sid_len = (size_t)(seg_end - p);
			p = seg_end;
			pat += 4;
		} else if (strcmp(pat, "{path}") == 0) {
			if (p == end)
				return false;
			out->file = p;
			out->file_len = (size_t)(end - p);
			return true;
		} else {
			if (p == end || *p != *pat)
				return false;
			p++;
			pat++;
		}
	}
	return p == end;
}

static bool is_literal(const char *pat)
{
	return strchr(pat, '{') == NULL;
}

/* Whether entry i applies to path: it matches, and it is literal or no
 * literal entry matches the path. */
static bool entry_applies(size_t i, const char *path, size_t plen, bool lit, struct route *m)
{
	return (!lit || is_literal(routes[i].path)) && pattern_match(routes[i].path, path, plen, m);
}

static bool method_matches(const char *route_method, const char *method)
{
	return strcmp(route_method, method) == 0 ||
	       (strcmp(method, "HEAD") == 0 && strcmp(route_method, "GET") == 0);
}

static void allow_add(char *allow, size_t size, const char *m)
{
	size_t n = strlen(allow);

	snprintf(allow + n, size - n, "%s%s", n ? ", " : "", m);
}

enum route_id route_resolve(const char *method, const char *path, struct route *out)
{
	size_t plen;
	bool known = false, lit = false;

	memset(out, 0, sizeof *out);
	out->id = ROUTE_NOT_FOUND;
	if (!method || !path)
		return ROUTE_NOT_FOUND;
	plen = route_path_len(path);
	if (path[plen] == '?') {
		out->query = path + plen + 1;
		out->query_len = strcspn(out->query, "#");
	}
	for (size_t i = 0; i < N_ROUTES && !lit; i++) {
		struct route m = *out;

		lit = is_literal(routes[i].path) && pattern_match(routes[i].path, path, plen, &m);
	}
	for (size_t i = 0; i < N_ROUTES; i++) {
		struct route m = *out;

		if (!entry_applies(i, path, plen, lit, &m))
			continue;
		known = true;
		if (method_matches(routes[i].method, method)) {
			m.id = routes[i].id;
			*out = m;
			return out->id;
		}
	}
	if (!known)
		return ROUTE_NOT_FOUND;
	/* The path exists: every method of it, in table order. */
	for (size_t i = 0; i < N_ROUTES; i++) {
		struct route m = *out;

		if (!entry_applies(i, path, plen, lit, &m))
			continue;
		allow_add(out->allow, sizeof out->allow, routes[i].method);
		if (strcmp(routes[i].method, "GET") == 0)
			allow_add(out->allow, sizeof out->allow, "HEAD");
	}
	out->id = ROUTE_BAD_METHOD;
	return ROUTE_BAD_METHOD;
}

enum route_id route_match(const char *method, const char *path, const char **allow)
{
	static struct route r;
	enum route_id id = route_resolve(method, path, &r);

	if (id == ROUTE_BAD_METHOD)
		*allow = r.allow;
	return id;
}

bool route_is_session_path(const char *path)
{
	size_t n = strlen(ROUTE_SESSIONS);

	return path && strncmp(path, ROUTE_SESSIONS, n) == 0 &&
	       (path[n] == '\0' || path[n] == '/' || path[n] == '?' || path[n] == '#');
}

bool route_is_session(enum route_id id)
{
	return id >= ROUTE_SES_CREATE && id <= ROUTE_SES_FILE_DELETE;
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

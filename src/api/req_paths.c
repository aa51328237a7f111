/*
 * req_paths.c - names that come from the request and end up in the jail's
 * file system or environment. Checked here, before anything is written: the
 * jail writes files relative to its fresh /work, but a path that cannot
 * name anything outside it ("..", absolute) is the first line of defence
 * (isolate's rules.c habit: policy is data, validated first).
 */
#include <string.h>

#include "api/api_private.h"

#define REQ_MAX_COMPONENT 255   /* NAME_MAX */
#define REQ_MAX_PATH 4095       /* PATH_MAX - 1 */

/* Checks one component [s, s+n). */
static const char *check_component(const char *s, size_t n)
{
	if (n == 0)
		return "empty path component";
	if ((n == 1 && s[0] == '.') || (n == 2 && s[0] == '.' && s[1] == '.'))
		return "'.' and '..' components are not allowed";
	if (n > REQ_MAX_COMPONENT)
		return "path component longer than 255 bytes";
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c == 0)
			return "NUL byte in path";
		if (c < 0x20 || c == 0x7f)
			return "control character in path";
	}
	return NULL;
}

static const char *check_path(const char *path, size_t len, size_t max_depth)
{
	size_t depth = 0, start = 0;

	if (len == 0)
		return "empty path";
	if (len > REQ_MAX_PATH)
		return "path longer than 4095 bytes";
	if (path[0] == '/')
		return "absolute paths are not allowed";
	for (size_t i = 0; i <= len; i++) {
		if (i < len && path[i] != '/')
			continue;
		const char *why = check_component(path + start, i - start);
		if (why)
			return why;
		if (++depth > max_depth)
			return "path too deep";
		start = i + 1;
	}
	return NULL;
}

const char *req_check_path(const char *path, size_t len, size_t max_depth)
{
	return check_path(path, len, max_depth);
}

/* The same rules: '*', '?', '[' and ']' are legal bytes in file names
 * anyway, and the jail matches patterns component by component (fnmatch with
 * FNM_PATHNAME) inside /work, so a pattern without ".." or a leading '/'
 * cannot reach outside it. */
const char *req_check_glob(const char *pat, size_t len, size_t max_depth)
{
	return check_path(pat, len, max_depth);
}

const char *req_check_env_name(const char *name)
{
	if (!name || !*name)
		return "empty variable name";
	if (!(name[0] == '_' || (name[0] >= 'A' && name[0] <= 'Z') ||
	      (name[0] >= 'a' && name[0] <= 'z')))
		return "variable name must start with a letter or '_'";
	for (const char *p = name + 1; *p; p++) {
		char c = *p;
		if (!(c == '_' || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
		      (c >= '0' && c <= '9')))
			return "variable name may contain only letters, digits and '_'";
	}
	return NULL;
}

/* a == b, or one is a directory prefix of the other ("a" vs "a/b"): the
 * jail could not create both, so the request is rejected up front. */
static bool paths_clash(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	if (la > lb)
		return paths_clash(b, a);
	return strncmp(a, b, la) == 0 && (b[la] == '\0' || b[la] == '/');
}

long req_path_clash(const struct req_job *job, const char *path)
{
	for (size_t i = 0; i < job->nfiles; i++)
		if (paths_clash(job->files[i].path, path))
			return (long)i;
	return -1;
}

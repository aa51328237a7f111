/*
 * path.c - relative paths that come from a request or a runtime recipe and
 * end up in the jail's /work (see path.h). Checked before anything is
 * written: the jail writes files relative to its fresh /work, but a path
 * that cannot name anything outside it ("..", absolute) is the first line
 * of defence (isolate's rules.c habit: policy is data, validated first).
 */
#include <string.h>

#include "common/path.h"

#define PATH_MAX_COMPONENT 255   /* NAME_MAX */
#define PATH_MAX_LEN 4095       /* PATH_MAX - 1 */

/* Checks one component [s, s+n). */
static const char *check_component(const char *s, size_t n)
{
	if (n == 0)
		return "empty path component";
	if ((n == 1 && s[0] == '.') || (n == 2 && s[0] == '.' && s[1] == '.'))
		return "'.' and '..' components are not allowed";
	if (n > PATH_MAX_COMPONENT)
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

const char *path_check(const char *path, size_t len, size_t max_depth)
{
	size_t depth = 0, start = 0;

	if (len == 0)
		return "empty path";
	if (len > PATH_MAX_LEN)
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

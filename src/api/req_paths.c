/*
 * req_paths.c - names from the request that end up in the jail's
 * environment, and paths that clash with each other (each path alone is
 * checked by path_check(), src/common/path.c).
 */
#include <string.h>

#include "api/req_private.h"

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

/*
 * path.h - the check of a relative path inside the jail's /work: request
 * files, output globs, the handler's module, a runtime's main file.
 */
#ifndef SANDBOX_COMMON_PATH_H
#define SANDBOX_COMMON_PATH_H

#include <stddef.h>

/* Components a path may have by default (req_config.max_path_depth; the
 * runtime recipes' "file" and sandbox-run's --file use it as it is). */
#define PATH_DEFAULT_MAX_DEPTH 16

/* NULL if path (len bytes, may hold NUL bytes) is relative, at most
 * max_depth components deep, each non-empty, not "." or "..", without NUL
 * or control characters, at most 255 bytes, 4095 in all; else the reason.
 * Also the check of outputs globs: '*', '?', '[' and ']' are legal bytes
 * in file names anyway, and the jail matches patterns component by
 * component (fnmatch with FNM_PATHNAME) inside /work, so a pattern without
 * ".." or a leading '/' cannot reach outside it. */
const char *path_check(const char *path, size_t len, size_t max_depth);

#endif

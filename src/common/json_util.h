/*
 * json_util.h - small checks on jansson values shared by the request
 * parser and the runtime registry.
 */
#ifndef SANDBOX_COMMON_JSON_UTIL_H
#define SANDBOX_COMMON_JSON_UTIL_H

#include <stdbool.h>
#include <jansson.h>

/* The unknown-key check: the first key of obj (an object) that is not in
 * allowed (NULL-terminated), or NULL when all are known. A key with an
 * embedded NUL ("a\u0000b" with JSON_ALLOW_NUL) is never known: comparing
 * its C string would see only "a". */
const char *json_unknown_key(json_t *obj, const char *const *allowed);

#endif

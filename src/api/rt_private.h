/* rt_private.h - internals of the runtime registry (rt.c, rt_load.c). */
#ifndef SANDBOX_API_RT_PRIVATE_H
#define SANDBOX_API_RT_PRIVATE_H

#include <stddef.h>

#include "api/rt.h"

/* "<a>/<b>" into buf; -1 if it does not fit. buf must not alias a or b. */
int rt_path(char *buf, size_t size, const char *a, const char *b);
/* Target of the symlink at path, "" if path is a plain directory, NULL
 * with errno otherwise. */
char *rt_readlink(const char *path);
/* Loads <base>/<name>/current into *t (zeroed first; on failure the caller
 * frees it with rt_template_free). */
int rt_template_load(const char *base, const char *name, struct rt_template *t,
                     char *msg, size_t msglen);
void rt_template_free(struct rt_template *t);

#endif

/* rt_private.h - internals of the runtime registry: what rt.c (the
 * registry) uses of rt_load.c (one template from disk). The calls go one
 * way only, rt.c -> rt_load.c. */
#ifndef SANDBOX_API_RT_PRIVATE_H
#define SANDBOX_API_RT_PRIVATE_H

#include <stddef.h>

#include "api/rt.h"

/* Target of the symlink at path, "" if path is a plain directory, NULL
 * with errno otherwise. */
char *rt_readlink(const char *path);
/* Loads <base>/<name>/current into *t (zeroed first; on failure the caller
 * frees it with rt_template_free). */
int rt_template_load(const char *base, const char *name, struct rt_template *t,
                     char *msg, size_t msglen);
void rt_template_free(struct rt_template *t);

#endif

/*
 * metrics_shm.h - the shared metrics file (format in metrics.h).
 */
#ifndef SANDBOX_FCGI_METRICS_SHM_H
#define SANDBOX_FCGI_METRICS_SHM_H

#include <stdbool.h>
#include <stddef.h>

#include "fcgi/metrics.h"

struct met_shm {
	struct met_store *store;     /* NULL: no metrics at all */
	bool shared;                 /* false: private memory, this responder only */
	int slot;                    /* -1: none (busy not reported) */
};

/* Maps path (created 0600 if absent, re-initialised if of another
 * format). Returns 0; -1 with msg when the file cannot be used (s then
 * holds private memory: the metrics cover this responder only); -2 when
 * not even that could be had. */
int met_shm_open(struct met_shm *s, const char *path, char *msg, size_t msglen);
void met_shm_busy(struct met_shm *s, bool busy);
/* Whether another responder of the pool is alive and not running a
 * request (it will take a waiting connection); false without a shared
 * file (nothing is known of the others). */
bool met_shm_other_idle(const struct met_shm *s);
/* The store of the last met_shm_open() (NULL before): for code far from
 * struct svc, such as http_send_error(). */
struct met_store *met_shm_store(void);
/* kill(pid, 0): a slot's responder still exists. */
bool met_pid_alive(pid_t pid);

#endif

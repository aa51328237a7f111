/*
 * cfg.h - command-line configuration of the sandbox-fcgi responder.
 * Pure code: parsing fills a struct and reports errors as text.
 */
#ifndef SANDBOX_FCGI_CFG_H
#define SANDBOX_FCGI_CFG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "api/req.h"

#define FCGI_DEFAULT_ROOTFS_BASE "/var/lib/sandbox-fcgi/rootfs"
#define FCGI_DEFAULT_TEMPLATE "minimal"

struct fcgi_cfg {
	const char *socket;          /* NULL: the listening socket is fd 0 (spawn-fcgi) */
	int backlog;                 /* for --socket only */
	const char *rootfs_base;
	const char *template_name;
	const char *cgroup_path;     /* NULL: let the jail detect it */
	bool require_cgroup;
	bool allow_degraded_limits;  /* else refuse to start without full cgroup limits */
	unsigned pool_size;          /* reported in /info; the pool itself is multiwatch's */
	uint64_t queue_timeout_ms;   /* a request older than this when accepted gets 503 */
	struct req_config req;
};

enum cfg_result { CFG_OK = 0, CFG_EXIT_OK, CFG_ERROR };

void fcgi_cfg_defaults(struct fcgi_cfg *c);
/* Parses argv into *c (which holds defaults). On CFG_ERROR, msg says why. */
enum cfg_result fcgi_cfg_parse(struct fcgi_cfg *c, int argc, char **argv,
                               char *msg, size_t msglen);
void fcgi_cfg_usage(const char *prog);

#endif

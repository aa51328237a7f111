/*
 * cfg.h - command-line configuration of the sandbox-fcgi responder.
 * Pure code: parsing fills a struct and reports errors as text.
 */
#ifndef SANDBOX_FCGI_CFG_H
#define SANDBOX_FCGI_CFG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <stdio.h>

#include "api/req.h"
#include "callback/cb.h"

/* configure's --with-rootfs-base (default $localstatedir/lib/sandbox-fcgi/
 * rootfs), passed by the Makefile so that make's directory variables decide
 * it (GNU coding standards, "Directory Variables"); the systemd unit, the
 * tmpfiles.d entry and the installed build-rootfs.sh get the same value. */
#define FCGI_DEFAULT_ROOTFS_BASE SANDBOX_ROOTFS_BASE

/* The pool's shared metrics file (src/fcgi/metrics.h), in a directory the
 * service user may write: under systemd, RuntimeDirectory=sandbox-fcgi/pool
 * (the socket's directory itself is root's). */
#define FCGI_DEFAULT_METRICS_FILE "/run/sandbox-fcgi/pool/metrics"

/* Durable state (sessions under STATE/sessions, asynchronous runs under
 * STATE/runs, callbacks under STATE/callbacks): configure's
 * --with-state-dir (default $localstatedir/lib/sandbox-fcgi/state), like
 * the RootFS base. */
#define FCGI_DEFAULT_STATE_DIR SANDBOX_STATE_DIR

/* What the program does: serve requests, or one operator command on the
 * session store (no jail, no socket) and exit. */
enum fcgi_cmd { FCGI_CMD_SERVE = 0, FCGI_CMD_SWEEP, FCGI_CMD_LIST, FCGI_CMD_PURGE };

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
	const char *metrics_file;    /* shared by the pool (--metrics-file) */
	const char *warm_runtime;    /* started ahead while idle; "none": off */
	bool warm_fork;              /* python's by a zygote (src/jail/zygote.c) */
	bool cpu_home;               /* --cpu-affinity auto: a home CPU (src/jail/cpus.c) */
	const char *state_dir;       /* --state-dir, created 0700 */
	enum fcgi_cmd cmd;           /* --sweep-sessions, --list-sessions, --purge-sessions */
	uint64_t max_upload_bytes;   /* PUT .../files/{path} body; nginx's cap must match */
	bool trust_session_id;       /* a new session takes SANDBOX_SESSION_ID (several hosts) */
	/* Asynchronous runs (docs/OPERATIONS.md, "Asynchronous runs"). */
	uint64_t async_max_wall_ms;  /* largest limits.wall_time_ms of an async run */
	uint64_t async_retention_s;  /* a finished run is kept this long */
	uint64_t async_slots;        /* responders running async jobs at once; 0: pool/2, min 1 */
	uint64_t wait_slots;         /* long polls at once; 0: the pool size */
	uint64_t max_wait_s;         /* largest ?wait= of GET /runs/{id} */
	uint64_t max_batch_runs;     /* runs in one POST /runs/batch, ids in one GET /runs */
	uint64_t max_queued_runs;    /* more waiting runs than this: 503 queue_full */
	struct req_config req;
	struct cb_config cb;         /* --callback-*: callback_url checks (src/callback/cb.h) */
};

/* CFG_HELP, CFG_VERSION: print fcgi_cfg_help / fcgi_cfg_version, exit 0. */
enum cfg_result { CFG_OK = 0, CFG_HELP, CFG_VERSION, CFG_ERROR };

void fcgi_cfg_defaults(struct fcgi_cfg *c);
/* Parses argv into *c (which holds defaults). On CFG_ERROR, msg says why
 * in one line naming the option. */
enum cfg_result fcgi_cfg_parse(struct fcgi_cfg *c, int argc, char **argv,
                               char *msg, size_t msglen);
/* --help: every option with its meaning and default (for stdout). */
void fcgi_cfg_help(FILE *f);
/* --version: "sandbox-fcgi VERSION". */
void fcgi_cfg_version(FILE *f);
/* A usage error: msg and "try --help" on one line (for stderr). */
void fcgi_cfg_usage_error(FILE *f, const char *msg);

#endif

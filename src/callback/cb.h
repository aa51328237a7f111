/*
 * cb.h - callback delivery: the result of an asynchronous run POSTed to the
 * submitter's callback_url, signed, retried with backoff, durable on disk
 * (docs/API.md "Callbacks", docs/OPERATIONS.md "Callbacks").
 *
 * Who calls what:
 *   at start-up      cb_config_defaults(), cb_config_option() per flag,
 *                    cb_config_finish() (reads the secret file, checks it)
 *   at submission    cb_url_check(): 400 naming "callback_url" when it fails
 *   when a run ends  cb_store_open() once, cb_enqueue(run id, url, result JSON)
 *   to deliver       cb_pump(now): due callbacks, one attempt each, from a
 *                    process on the host's network (sandbox-callbacks; the
 *                    responders live in an empty network namespace once
 *                    jail_new() ran, see docs/OPERATIONS.md)
 *
 * Nothing here connects anywhere unless the URL's host is on the operator's
 * allowlist; an empty allowlist (the default) turns callbacks off.
 */
#ifndef SANDBOX_CALLBACK_CB_H
#define SANDBOX_CALLBACK_CB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <jansson.h>

#define CB_ALLOW_MAX 64          /* allowlist entries */
#define CB_HOST_MAX 253          /* DNS name length (RFC 1035), IPv6 text fits */
#define CB_URL_MAX 2048          /* the whole callback_url */
#define CB_SECRET_MIN 16         /* bytes of the HMAC key */
#define CB_SECRET_MAX 4096
#define CB_RUN_ID_MAX 64         /* [A-Za-z0-9_-], the store's file name */
#define CB_BODY_MAX (64u << 20)  /* largest result stored for delivery */

/* One allowlist entry: a host (lower-case name or canonical IP text, IPv6
 * without brackets) and a port, 0 meaning the scheme's default port only. */
struct cb_allow {
	char host[CB_HOST_MAX + 1];
	bool ipv6;
	unsigned port;
};

/* A parsed callback_url. host as in struct cb_allow; port is the explicit
 * one or the scheme's default; target is the path and query as given. */
struct cb_url {
	bool https;
	char host[CB_HOST_MAX + 1];
	bool ipv6;
	bool ip_literal;
	unsigned port;
	bool port_explicit;
	char target[CB_URL_MAX + 1];
};

/* Receives one event per attempt and per give-up (level "info", "warning",
 * "error"; fields stolen, never the body or the secret). */
typedef void (*cb_log_fn)(const char *level, const char *event, json_t *fields);

struct cb_config {
	struct cb_allow allow[CB_ALLOW_MAX];
	size_t nallow;                 /* 0: callbacks off */
	const char *secret_file;       /* --callback-secret-file */
	unsigned char secret[CB_SECRET_MAX];
	size_t secret_len;             /* filled by cb_config_finish() */
	unsigned max_attempts;         /* then given up */
	uint64_t max_age_s;            /* no attempt after created_at + this */
	uint64_t backoff_base_s;       /* delay after the first failure */
	uint64_t backoff_max_s;        /* cap of the doubling */
	uint64_t connect_timeout_ms;   /* TCP + TLS handshake of one attempt */
	uint64_t timeout_ms;           /* one whole attempt, DNS included */
	const char *proxy;             /* NULL: none (the environment is ignored) */
	const char *ca_file;           /* NULL: the system's CA store */
	cb_log_fn log;                 /* NULL: silent */
};

/* A store error: what failed (lower-case, names the subject) and errno. */
struct cb_error {
	int err;
	char msg[256];
};

/* The durable queue: STATE/callbacks/<run id>.json, one file per callback. */
struct cb_store {
	int dirfd;
};

/* --- configuration (cb_cfg.c) --- */
void cb_config_defaults(struct cb_config *c);
/* Applies one --callback-* flag by its long name (without "--"). Returns 1
 * when applied, 0 when name is not a callback flag, -1 on a bad value (msg
 * says why, naming the flag). */
int cb_config_option(struct cb_config *c, const char *name, const char *arg,
                     char *msg, size_t msglen);
/* Checks the flags together; for the deliverer (sign true) also reads and
 * checks the secret file (regular, not a link, owned by us or root, no
 * access for group or others, CB_SECRET_MIN..CB_SECRET_MAX-1 bytes, one
 * trailing newline dropped), required when the allowlist is not empty. The
 * responders only check URLs and never read the secret (sign false). */
int cb_config_finish(struct cb_config *c, bool sign, char *msg, size_t msglen);
/* The --callback-* lines of --help, with their defaults. */
void cb_config_help(FILE *f);
/* For getopt_long tables: the flags' names, NULL-terminated, and whether
 * each takes a value (all do). */
extern const char *const cb_option_names[];

/* --- URLs and the allowlist (cb_url.c, pure) --- */
/* Parses "HOST[:PORT]" (IPv6 as [ADDR][:PORT]). */
int cb_allow_parse(const char *s, struct cb_allow *out);
/* Parses a callback_url strictly: http or https, a host, an optional port,
 * a path; no userinfo, no fragment, no percent-encoding in the host, ASCII
 * only. -1 with why filled (a message for the 400). */
int cb_url_parse(const char *s, struct cb_url *out, char *why, size_t whylen);
/* True when u's host and port are on the allowlist. */
bool cb_url_allowed(const struct cb_config *c, const struct cb_url *u);
/* At submission: parse + allowlist; -1 with why (callbacks off, bad URL,
 * host not allowed). */
int cb_url_check(const struct cb_config *c, const char *url, char *why, size_t whylen);

/* --- signature (cb_sign.c) --- */
#define CB_SIG_HEX_LEN 64
/* hex HMAC-SHA256(key, ts "." body), NUL-terminated in out[65]. */
int cb_sign(const unsigned char *key, size_t keylen, int64_t ts, const char *body,
            size_t len, char out[CB_SIG_HEX_LEN + 1]);
/* Raw HMAC-SHA256 over one buffer (for the RFC 4231 vectors). */
int cb_hmac_sha256(const unsigned char *key, size_t keylen, const unsigned char *msg,
                   size_t len, unsigned char out[32]);

/* --- backoff (cb_pump.c, pure) --- */
/* Seconds to wait after `failures` failed attempts (>= 1): base * 2^(n-1),
 * at most max. */
uint64_t cb_backoff_s(const struct cb_config *c, unsigned failures);

/* --- the store (cb_store.c) --- */
int cb_store_open(const char *state_dir, struct cb_store *out, struct cb_error *e);
void cb_store_close(struct cb_store *s);
/* Stores a pending callback, due now. run_id: [A-Za-z0-9_-]{1,64}, one
 * callback per run (EEXIST otherwise); body: the JSON to POST (UTF-8). The
 * URL is checked again here (parse only: the allowlist is the deliverer's). */
int cb_enqueue(struct cb_store *s, const char *run_id, const char *url, const char *body,
               size_t len, int64_t now, struct cb_error *e);

/* --- delivery (cb_pump.c, cb_http.c) --- */
/* Makes at most max attempts, each on a due callback nobody else holds
 * (flock), blocking at most max * timeout_ms. Delivered ones are removed,
 * failed ones get their next attempt time, exhausted ones are given up
 * (removed and logged). *delivered counts successes. -1 only when the
 * store cannot be read. */
int cb_pump(struct cb_store *s, const struct cb_config *c, int64_t now, unsigned max,
            unsigned *delivered, struct cb_error *e);
/* Seconds until the next pending callback is due (0: now), -1 when none. */
int64_t cb_next_due(struct cb_store *s, int64_t now);

/* Once per process, before threads (curl_global_init). */
int cb_global_init(void);
void cb_global_cleanup(void);

#endif

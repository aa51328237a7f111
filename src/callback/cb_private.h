/*
 * cb_private.h - what the files of src/callback share: one stored callback
 * and the attempt that delivers it. Nothing outside src/callback includes it.
 */
#ifndef SANDBOX_CALLBACK_CB_PRIVATE_H
#define SANDBOX_CALLBACK_CB_PRIVATE_H

#include "callback/cb.h"

#define CB_SUFFIX ".json"
#define CB_TMP_PREFIX ".tmp-"

/* STATE/callbacks/<run_id>.json */
struct cb_record {
	char run_id[CB_RUN_ID_MAX + 1];
	char *url;
	int64_t created_at;
	int64_t next_at;
	unsigned attempts;          /* made so far */
	long last_status;           /* HTTP status of the last attempt, 0: none */
	char *body;
	size_t body_len;
};

void cb_record_clear(struct cb_record *r);
bool cb_run_id_valid(const char *id);
/* Fills e (when not NULL) and errno; returns -1. */
int cb_store_fail(struct cb_error *e, int err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Opens and locks (flock, non-blocking) <name>, checks that the name still
 * names the locked file, parses it. 1: *lockfd and *out filled; 0: busy,
 * gone or replaced meanwhile (skip it); -1: unreadable (errno). */
int cb_record_take(int dirfd, const char *name, int *lockfd, struct cb_record *out);
/* Replaces <run_id>.json atomically (temporary file, fsync, rename). */
int cb_record_save(int dirfd, const struct cb_record *r, struct cb_error *e);

/* One attempt (cb_http.c): the HTTP status (2xx: delivered), or 0 when no
 * answer came (refused address, connect/TLS failure, timeout); detail says
 * what curl said. */
long cb_http_post(const struct cb_config *c, const struct cb_record *r, int64_t now,
                  char *detail, size_t detaillen);

#endif

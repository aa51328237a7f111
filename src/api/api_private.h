/*
 * api_private.h - helpers shared by the files of src/api, not part of the
 * contract with the responder and sandbox-run.
 */
#ifndef SANDBOX_API_PRIVATE_H
#define SANDBOX_API_PRIVATE_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <jansson.h>

#include "api/req.h"

/* base64 (RFC 4648, standard alphabet, padded). Decoding is strict: no
 * whitespace, no missing or extra padding, no non-zero bits after the last
 * symbol, so one byte string has exactly one accepted encoding. */
char *b64_encode(const unsigned char *in, size_t len, size_t *outlen);
/* Returns 0 and a malloc'd buffer (NUL-terminated), or -1 on bad input/OOM. */
int b64_decode(const char *in, size_t len, unsigned char **out, size_t *outlen);

/* Fills *err; always returns -1 so callers can `return req_fail(...)`. */
int req_fail(struct req_error *err, int http_status, const char *code,
             const char *field, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));

/* Makes the NUL-terminated text in buf (size bytes) valid UTF-8 in place:
 * invalid bytes become U+FFFD, and the result is cut at a character
 * boundary if it no longer fits. Error messages quote request data cut
 * with "%.48s", which may split a character; jansson refuses such text. */
void api_utf8_fix(char *buf, size_t size);

/* NULL-terminated string vectors. */
char **strv_new(size_t n);
void strv_free(char **v);
size_t strv_len(char *const *v);
char **strv_dup(char *const *v);

/* Replaces every "{key}" in tmpl by its value (keys/vals NULL-terminated,
 * same length). Unknown "{...}" are kept as they are. NULL on OOM. */
char *req_subst(const char *tmpl, const char *const *keys, const char *const *vals);
char **req_subst_argv(char *const *tmpl, const char *const *keys, const char *const *vals);

/* Parsing steps of req_parse_run, one per concern (req_*.c). Each returns 0
 * or -1 with *err filled. */
int req_parse_files(json_t *files, const struct req_config *cfg,
                    struct req_job *job, struct req_error *err);
int req_parse_outputs(json_t *outputs, const struct req_config *cfg,
                      struct req_job *job, struct req_error *err);
int req_parse_env(json_t *env, const struct req_config *cfg,
                  struct req_job *job, struct req_error *err);
int req_parse_limits(json_t *limits, const struct req_config *cfg,
                     struct req_job *job, struct req_error *err);
int req_parse_command(json_t *root, const struct req_config *cfg,
                      struct req_job *job, struct req_error *err);
/* Outputs glob check: like req_check_path but '*', '?', '[', ']' allowed. */
const char *req_check_glob(const char *pat, size_t len, size_t max_depth);
/* Checks that `path` neither equals nor is a directory prefix of an already
 * accepted path (and vice versa). Returns the index of the clash or -1. */
long req_path_clash(const struct req_job *job, const char *path);

/* Default rootfs-side paths of the handler shim's input and output. */
#define REQ_EVENT_PATH ".sandbox/event.json"   /* under /tmp */
#define REQ_RESULT_PATH ".sandbox/result.json" /* under /tmp */

#endif

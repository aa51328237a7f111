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

/* Pre-scan of JSON text fed in chunks (req_scan.c): counts values (object
 * keys included) and nesting before jansson builds a tree of them. */
enum req_scan_status { REQ_SCAN_OK = 0, REQ_SCAN_TOO_DEEP, REQ_SCAN_TOO_MANY };
struct req_scan {
	size_t max_depth, max_values;
	size_t depth, values;
	enum req_scan_status status;     /* sticky: the first limit crossed */
	unsigned char state;
	bool top_object, key_next, capturing, key_bad;
	size_t keylen;
	char key[48];
	char field[48];                  /* top-level member being scanned, or "" */
};
void req_scan_init(struct req_scan *s, size_t max_depth, size_t max_values);
enum req_scan_status req_scan_feed(struct req_scan *s, const char *buf, size_t len);

/* A byte budget on jansson's allocations (api_mem.c). api_mem_install()
 * hooks jansson's allocator (safe at any time); api_mem_arm() counts from
 * now: api_mem_exceeded() says whether jansson has held more than limit
 * since (allocations never fail for it). disarm stops and returns that.
 * Not thread-safe: one document at a time. */
void api_mem_install(void);
void api_mem_arm(size_t limit);
bool api_mem_disarm(void);
bool api_mem_exceeded(void);
size_t api_mem_peak(void);       /* most bytes held since the last arm */
size_t api_mem_live(void);       /* bytes jansson holds now (counted ones) */

/* Untrusted JSON loaded in chunks under all three bounds: at most
 * max_bytes of text, the pre-scan's depth and value count, and the budget
 * (checked before each chunk; armed and disarmed by api_load itself).
 * NULL: l->fail says why, or API_LOAD_OK with *je for invalid JSON. */
enum api_load_fail { API_LOAD_OK = 0, API_LOAD_SHORT, API_LOAD_TOO_LARGE, API_LOAD_SCAN,
                     API_LOAD_BUDGET };
struct api_load {
	req_read_fn read;
	void *ctx;
	size_t got, max_bytes, budget;
	struct req_scan scan;
	enum api_load_fail fail;
};
void api_load_init(struct api_load *l, req_read_fn read, void *ctx, size_t max_bytes,
                   size_t max_depth, size_t max_values, size_t budget);
json_t *api_load(struct api_load *l, size_t flags, json_error_t *je);
/* req_read_fn over a buffer. */
struct api_mem_src { const char *p; size_t left; };
long api_mem_read(void *ctx, char *buf, size_t len);

/* A string of the streamed answer written straight from the jail's buffer
 * (resp.c builds the tree with a placeholder, resp_write.c fills it in). */
struct resp_big {
	const json_t *slot;              /* the placeholder's address in the tree */
	const char *data;
	size_t len;
	bool base64;                     /* else text: made UTF-8 and escaped */
	const char *suffix;              /* valid UTF-8 appended after a '\n', or NULL */
};
struct resp_bigs { struct resp_big *big; size_t n, alloc; };
/* Writes tree compactly, exactly as json_dumps(JSON_COMPACT) would with the
 * placeholders replaced. Returns 0 or -1 (write failed or out of memory). */
int resp_tree_write(const json_t *tree, const struct resp_bigs *b,
                    json_dump_callback_t write, void *ctx);
/* Length of the UTF-8 sequence at s (n bytes left) or 0 if it is not a
 * valid, shortest-form one (resp_utf8.c). */
size_t resp_utf8_seq(const unsigned char *s, size_t n);

/* Default rootfs-side paths of the handler shim's input and output. */
#define REQ_EVENT_PATH ".sandbox/event.json"   /* under /tmp */
#define REQ_RESULT_PATH ".sandbox/result.json" /* under /tmp */

#endif

/*
 * api_load.h - untrusted JSON into a jansson tree under bounds: the
 * pre-scan of its text (req_scan.c) and the byte budget on jansson's
 * allocations (api_mem.c). Used by the request parser for the body and by
 * the response builder for a handler's result file.
 */
#ifndef SANDBOX_API_LOAD_H
#define SANDBOX_API_LOAD_H

#include <stdbool.h>
#include <stddef.h>
#include <jansson.h>

/* Reads up to len bytes into buf: returns how many (> 0), 0 at the end, or
 * -1 when the text cannot be read whole (req_read_fn of api/req.h is the
 * same type). */
typedef long (*api_read_fn)(void *ctx, char *buf, size_t len);

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
	api_read_fn read;
	void *ctx;
	size_t got, max_bytes, budget;
	struct req_scan scan;
	enum api_load_fail fail;
};
void api_load_init(struct api_load *l, api_read_fn read, void *ctx, size_t max_bytes,
                   size_t max_depth, size_t max_values, size_t budget);
json_t *api_load(struct api_load *l, size_t flags, json_error_t *je);
/* api_read_fn over a buffer. */
struct api_mem_src { const char *p; size_t left; };
long api_mem_read(void *ctx, char *buf, size_t len);

#endif

/*
 * http_util.h - the pure part of the responder's HTTP handling: header
 * values, request ids, status texts, queue age. No FastCGI here, so that
 * tests/unit/check_fcgi links it alone.
 */
#ifndef SANDBOX_FCGI_HTTP_UTIL_H
#define SANDBOX_FCGI_HTTP_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#define HTTP_REQID_MAX 64

/* "application/json", any case, optionally followed by parameters. */
bool http_is_json_type(const char *content_type);
/* Whether an Accept header value names application/x-ndjson (any case)
 * as a media range with a weight above 0 (no "q=0", "q=0.0", ...): the
 * client asks for a streamed run (docs/API.md, "Live output"). */
bool http_accepts_ndjson(const char *accept);
/* Strict unsigned decimal Content-Length: 0 and *out, or -1 (empty, sign,
 * junk, overflow) with *out untouched. */
int http_parse_length(const char *s, uint64_t *out);
/* 1 to HTTP_REQID_MAX of [A-Za-z0-9._-]. */
bool http_reqid_valid(const char *s);
/* 32 random hex digits into buf (len > 32), or -1. */
int http_reqid_generate(char *buf, size_t len);
/* The reason phrase of the statuses the responder answers, else "Error". */
const char *http_status_text(int status);
/* Age in ms at now (CLOCK_REALTIME) of a request that nginx began at msec
 * ("seconds.millis", $msec); 0 if msec lies in the future, -1 if it is
 * missing or not a positive number. */
int64_t http_queue_age_ms(const char *msec, const struct timespec *now);
/* Whether a request of that age (-1: unknown) waited longer than
 * timeout_ms (0: no limit). */
bool http_queue_expired(int64_t queued_ms, uint64_t timeout_ms);
/* The value of parameter name in a query string ("a=1&b=2"), '+' and
 * %XX decoded, into buf: 1, 0 when absent, -1 when it does not fit in len
 * (NUL included), has a bad escape or decodes to a NUL. */
int http_query_get(const char *qs, const char *name, char *buf, size_t len);
/* Milliseconds on CLOCK_MONOTONIC since t0, never negative. */
uint64_t http_elapsed_ms(const struct timespec *t0);

/* Decodes the percent escapes of in[0..len) exactly once into out (of
 * outsize bytes; NUL bytes are data, *outlen counts them). plus_space:
 * '+' is a space (a query string, application/x-www-form-urlencoded).
 * Returns 0, or -1 for a '%' not followed by two hex digits or an output
 * that does not fit. */
int http_pct_decode(const char *in, size_t len, bool plus_space, char *out, size_t outsize,
                    size_t *outlen);
/* The value of parameter name in a query string (not decoded), or NULL;
 * *vlen its length. */
const char *http_query_param(const char *q, size_t qlen, const char *name, size_t *vlen);
/* A Content-Type for a file name, by its extension (a small table of
 * common ones); application/octet-stream otherwise. */
const char *http_type_by_name(const char *name);

#endif

/*
 * http.h - one FastCGI request seen as HTTP: its parameters, its body (read
 * under a hard cap), and one JSON answer.
 */
#ifndef SANDBOX_FCGI_HTTP_H
#define SANDBOX_FCGI_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>
#include <fcgiapp.h>
#include <jansson.h>

#include "api/resp.h"
#include "fcgi/http_util.h"

struct http_req {
	FCGX_Request *fx;
	const char *method;
	bool head;                   /* HEAD: headers only, no body */
	const char *path;            /* DOCUMENT_URI, else REQUEST_URI */
	const char *uri;             /* REQUEST_URI as sent (not decoded), or NULL */
	const char *content_type;    /* NULL if none */
	const char *accept;          /* Accept (HTTP_ACCEPT), NULL if none */
	bool has_length;
	uint64_t content_length;
	bool bad_length;             /* CONTENT_LENGTH present but not a number */
	uint64_t body_left;          /* body bytes not read yet */
	int64_t queued_ms;           /* age when accepted (REQUEST_START), -1 unknown */
	char request_id[HTTP_REQID_MAX + 1];
	struct timespec t0;
};

/* Fills *r from the request's parameters. */
void http_req_init(struct http_req *r, FCGX_Request *fx);

/* req_read_fn over the request body (ctx: the struct http_req): at most
 * the Content-Length bytes not read yet, then 0; -1 if the stream ends
 * before them (the client left). The body is never held whole: the caller
 * parses it chunk by chunk (req_parse_run_stream). */
long http_body_read(void *ctx, char *buf, size_t len);

/* Writes the status line, headers and body (stolen, given its request_id)
 * followed by '\n'.
 * extra_headers: NULL or "Name: value\r\n..." lines. Returns 0 or -1 if the
 * peer is gone (the caller has nothing more to do then). */
int http_send_json(struct http_req *r, int status, json_t *body, const char *extra_headers);
/* A 200 answer of len bytes of JSON text sent as they are (no request_id
 * added: the OpenAPI document must stay a valid one). Returns 0 or -1. */
int http_send_text(struct http_req *r, const char *text, size_t len);
/* The 200 answer of a run (with r's request_id), streamed
 * (resp_result_write): never built whole
 * in memory, however much escaping grows the program's output. Returns 0,
 * or -1 if the peer is gone (the answer may then be cut short). */
int http_send_result(struct http_req *r, const struct jail_result *res,
                     const struct resp_opts *o);
/* An answer written in pieces (GET /runs: a kept result file goes out as
 * it is): the head, then text (not for HEAD), then the end ('\n' and a
 * flush). Each returns 0 or -1 when the peer is gone. */
int http_begin(struct http_req *r, int status, const char *extra_headers);
/* The same with another Content-Type (application/x-ndjson). */
int http_begin_type(struct http_req *r, int status, const char *type, const char *extra_headers);
/* Sends what was put so far (a line of a stream). 0 or -1. */
int http_flush(struct http_req *r);
int http_put(struct http_req *r, const char *buf, size_t len);
int http_end(struct http_req *r);
/* An answer without a body (204): status line and headers only. */
int http_send_empty(struct http_req *r, int status, const char *extra_headers);
/* A 200 answer of the size bytes of fd (a regular file), streamed in
 * chunks of 64 KiB with Content-Length and content_type. Returns 0, or -1
 * if the peer left or the file could not be read whole (then cut short). */
int http_send_file(struct http_req *r, int fd, uint64_t size, const char *content_type);
/* {"error": {...}, "request_id": ...} convenience. */
int http_send_error(struct http_req *r, int status, const char *code,
                    const char *message, const char *field, const char *extra_headers);

#endif

/*
 * http.c - FastCGI request I/O on the FCGX_* API with explicit streams
 * (the pure helpers are in http_util.c).
 */
#include "fcgi/http.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "api/resp.h"
#include "fcgi/metrics_shm.h"

static void init_request_id(struct http_req *r)
{
	const char *id = FCGX_GetParam("REQUEST_ID", r->fx->envp);

	if (http_reqid_valid(id)) {
		snprintf(r->request_id, sizeof r->request_id, "%s", id);
		return;
	}
	if (http_reqid_generate(r->request_id, sizeof r->request_id) < 0)
		snprintf(r->request_id, sizeof r->request_id, "unknown");
}

void http_req_init(struct http_req *r, FCGX_Request *fx)
{
	const char *len;
	struct timespec now;

	memset(r, 0, sizeof *r);
	clock_gettime(CLOCK_MONOTONIC, &r->t0);
	r->fx = fx;
	r->method = FCGX_GetParam("REQUEST_METHOD", fx->envp);
	r->head = r->method && strcmp(r->method, "HEAD") == 0;
	r->uri = FCGX_GetParam("REQUEST_URI", fx->envp);
	r->path = FCGX_GetParam("DOCUMENT_URI", fx->envp);
	if (!r->path)
		r->path = r->uri;
	r->content_type = FCGX_GetParam("CONTENT_TYPE", fx->envp);
	r->accept = FCGX_GetParam("HTTP_ACCEPT", fx->envp);
	len = FCGX_GetParam("CONTENT_LENGTH", fx->envp);
	if (len && *len != '\0') {
		r->has_length = true;
		r->bad_length = http_parse_length(len, &r->content_length) < 0;
		r->body_left = r->bad_length ? 0 : r->content_length;
	}
	clock_gettime(CLOCK_REALTIME, &now);
	r->queued_ms = http_queue_age_ms(FCGX_GetParam("REQUEST_START", fx->envp), &now);
	init_request_id(r);
}

long http_body_read(void *ctx, char *buf, size_t len)
{
	struct http_req *r = ctx;
	size_t want = r->body_left < len ? (size_t)r->body_left : len;
	int n;

	if (want == 0)
		return 0;
	if (want > 65536)
		want = 65536;
	n = FCGX_GetStr(buf, (int)want, r->fx->in);
	if (n <= 0)
		return -1;   /* the stream ended before Content-Length bytes */
	r->body_left -= (uint64_t)n;
	return n;
}

static int put_head_type(struct http_req *r, int status, const char *type, const char *extra)
{
	return FCGX_FPrintF(r->fx->out, "Status: %d %s\r\nContent-Type: %s\r\n"
	                    "Cache-Control: no-store\r\nX-Request-Id: %s\r\n%s\r\n",
	                    status, http_status_text(status), type, r->request_id,
	                    extra ? extra : "") < 0 ? -1 : 0;
}

static int put_head(struct http_req *r, int status, const char *extra)
{
	return put_head_type(r, status, "application/json", extra);
}

int http_send_json(struct http_req *r, int status, json_t *body, const char *extra)
{
	FCGX_Stream *out = r->fx->out;
	char *text = NULL;
	int rc = 0;

	if (body)
		resp_set_request_id(body, r->request_id);
	/* Compact output: results can carry megabytes of base64. */
	text = body ? json_dumps(body, JSON_COMPACT) : NULL;
	json_decref(body);
	if (!text) {
		status = 500;
		text = strdup("{\"error\":{\"code\":\"internal\",\"message\":\"out of memory\"}}");
		if (!text)
			return -1;
	}
	if (put_head(r, status, extra) < 0 ||
	    (!r->head && (FCGX_PutStr(text, (int)strlen(text), out) < 0 ||
	                  FCGX_PutS("\n", out) < 0)) ||
	    FCGX_FFlush(out) < 0)
		rc = -1;
	free(text);
	return rc;
}

int http_begin(struct http_req *r, int status, const char *extra)
{
	return put_head(r, status, extra);
}

int http_begin_type(struct http_req *r, int status, const char *type, const char *extra)
{
	return put_head_type(r, status, type, extra);
}

int http_flush(struct http_req *r)
{
	return FCGX_FFlush(r->fx->out) < 0 ? -1 : 0;
}

int http_put(struct http_req *r, const char *buf, size_t len)
{
	if (r->head || len == 0)
		return 0;
	return len <= INT_MAX && FCGX_PutStr(buf, (int)len, r->fx->out) == (int)len ? 0 : -1;
}

int http_end(struct http_req *r)
{
	if (http_put(r, "\n", 1) < 0 || FCGX_FFlush(r->fx->out) < 0)
		return -1;
	return 0;
}

int http_send_text(struct http_req *r, const char *text, size_t len)
{
	if (len > INT_MAX || put_head(r, 200, NULL) < 0 ||
	    (!r->head && FCGX_PutStr(text, (int)len, r->fx->out) != (int)len) ||
	    FCGX_FFlush(r->fx->out) < 0)
		return -1;
	return 0;
}

int http_send_empty(struct http_req *r, int status, const char *extra)
{
	if (FCGX_FPrintF(r->fx->out, "Status: %d %s\r\nCache-Control: no-store\r\n"
	                 "X-Request-Id: %s\r\n%s\r\n", status, http_status_text(status),
	                 r->request_id, extra ? extra : "") < 0 ||
	    FCGX_FFlush(r->fx->out) < 0)
		return -1;
	return 0;
}

int http_send_file(struct http_req *r, int fd, uint64_t size, const char *content_type)
{
	char buf[65536];

	/* nosniff: a download is the bytes of a workspace a program wrote; a
	 * browser must not guess it into HTML. */
	if (FCGX_FPrintF(r->fx->out, "Status: 200 OK\r\nContent-Type: %s\r\n"
	                 "Content-Length: %llu\r\nX-Content-Type-Options: nosniff\r\n"
	                 "Cache-Control: no-store\r\nX-Request-Id: %s\r\n\r\n", content_type,
	                 (unsigned long long)size, r->request_id) < 0)
		return -1;
	while (!r->head && size > 0) {
		ssize_t n = read(fd, buf, size < sizeof buf ? (size_t)size : sizeof buf);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;   /* shorter than its fstat: the answer is cut short */
		if (FCGX_PutStr(buf, (int)n, r->fx->out) != (int)n)
			return -1;
		size -= (uint64_t)n;
	}
	return FCGX_FFlush(r->fx->out) < 0 ? -1 : 0;
}

int http_send_error(struct http_req *r, int status, const char *code,
                    const char *message, const char *field, const char *extra)
{
	json_t *e = resp_error(code, message, field);

	met_refused(met_shm_store(), status, code);
	return http_send_json(r, status, e, extra);
}

struct result_sink {
	struct http_req *r;
	bool started;        /* the status line is out: no other answer now */
};

/* json_dump_callback_t: the status line goes out with the first bytes of
 * the body, so that a failure before any (out of memory while building the
 * small part of the tree) can still be a 500. */
static int result_put(const char *buf, size_t len, void *data)
{
	struct result_sink *k = data;

	if (!k->started) {
		k->started = true;
		if (put_head(k->r, 200, NULL) < 0)
			return -1;
	}
	return FCGX_PutStr(buf, (int)len, k->r->fx->out) == (int)len ? 0 : -1;
}

int http_send_result(struct http_req *r, const struct jail_result *res,
                     const struct resp_opts *o)
{
	struct result_sink k = { .r = r, .started = false };
	struct resp_opts ro = *o;

	ro.request_id = r->request_id;
	if (resp_result_write(res, &ro, result_put, &k) < 0) {
		if (!k.started)
			return http_send_error(r, 500, "internal", "out of memory", NULL, NULL);
		return -1;   /* the client left, or memory ran out mid-way: cut short */
	}
	if (FCGX_PutS("\n", r->fx->out) < 0 || FCGX_FFlush(r->fx->out) < 0)
		return -1;
	return 0;
}

/*
 * http.c - FastCGI request I/O on the FCGX_* API with explicit streams.
 */
#include "fcgi/http.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>

#include "api/resp.h"
#include "fcgi/route.h"

const char *http_status_text(int status)
{
	switch (status) {
	case 200: return "OK";
	case 400: return "Bad Request";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 411: return "Length Required";
	case 413: return "Payload Too Large";
	case 415: return "Unsupported Media Type";
	case 500: return "Internal Server Error";
	case 503: return "Service Unavailable";
	default: return "Error";
	}
}

/* "application/json" with optional parameters ("; charset=utf-8"), any case. */
bool http_is_json_type(const char *ct)
{
	static const char want[] = "application/json";
	size_t n = sizeof(want) - 1;

	if (ct == NULL)
		return false;
	while (*ct == ' ' || *ct == '\t')
		ct++;
	if (strncasecmp(ct, want, n) != 0)
		return false;
	ct += n;
	while (*ct == ' ' || *ct == '\t')
		ct++;
	return *ct == '\0' || *ct == ';';
}

int http_parse_length(const char *s, uint64_t *out)
{
	uint64_t v = 0;

	if (s == NULL || *s == '\0')
		return -1;
	for (; *s != '\0'; s++) {
		if (*s < '0' || *s > '9' || v > (UINT64_MAX - 9) / 10)
			return -1;
		v = v * 10 + (uint64_t)(*s - '0');
	}
	*out = v;
	return 0;
}

/* Request ids end up in a response header and in log lines: accept only a
 * short token so that a client cannot inject header lines or JSON. */
bool http_reqid_valid(const char *s)
{
	size_t n = 0;

	if (s == NULL)
		return false;
	for (; s[n] != '\0'; n++) {
		unsigned char c = (unsigned char)s[n];

		if (n >= HTTP_REQID_MAX || !(isalnum(c) || c == '-' || c == '_' || c == '.'))
			return false;
	}
	return n > 0;
}

int http_reqid_generate(char *buf, size_t len)
{
	unsigned char raw[16];
	size_t i;

	if (len < sizeof(raw) * 2 + 1)
		return -1;
	if (getrandom(raw, sizeof(raw), 0) != (ssize_t)sizeof(raw))
		return -1;
	for (i = 0; i < sizeof(raw); i++)
		snprintf(buf + 2 * i, 3, "%02x", raw[i]);
	return 0;
}

uint64_t http_elapsed_ms(const struct timespec *t0)
{
	struct timespec now;
	int64_t ms;

	clock_gettime(CLOCK_MONOTONIC, &now);
	ms = (int64_t)(now.tv_sec - t0->tv_sec) * 1000 + (now.tv_nsec - t0->tv_nsec) / 1000000;
	return ms > 0 ? (uint64_t)ms : 0;
}

/* nginx's $msec is "seconds.millis" of wall-clock time when it began the
 * request; both ends share the host clock. */
int64_t http_queue_age_ms(const char *msec, const struct timespec *now)
{
	char *end = NULL;
	double start;
	int64_t age;

	if (msec == NULL)
		return -1;
	errno = 0;
	start = strtod(msec, &end);
	if (errno != 0 || end == msec || *end != '\0' || start <= 0)
		return -1;
	age = (int64_t)((double)now->tv_sec * 1000.0 + (double)now->tv_nsec / 1e6 - start * 1000.0);
	return age < 0 ? 0 : age;
}

static void init_request_id(struct http_req *r)
{
	const char *id = FCGX_GetParam("REQUEST_ID", r->fx->envp);

	if (http_reqid_valid(id)) {
		snprintf(r->request_id, sizeof(r->request_id), "%s", id);
		return;
	}
	if (http_reqid_generate(r->request_id, sizeof(r->request_id)) < 0)
		snprintf(r->request_id, sizeof(r->request_id), "unknown");
}

void http_req_init(struct http_req *r, FCGX_Request *fx)
{
	const char *len;
	struct timespec now;

	memset(r, 0, sizeof(*r));
	clock_gettime(CLOCK_MONOTONIC, &r->t0);
	r->fx = fx;
	r->method = FCGX_GetParam("REQUEST_METHOD", fx->envp);
	r->path = FCGX_GetParam("DOCUMENT_URI", fx->envp);
	if (r->path == NULL)
		r->path = FCGX_GetParam("REQUEST_URI", fx->envp);
	r->content_type = FCGX_GetParam("CONTENT_TYPE", fx->envp);
	len = FCGX_GetParam("CONTENT_LENGTH", fx->envp);
	if (len != NULL && *len != '\0') {
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

static int put_head(struct http_req *r, int status, const char *extra)
{
	return FCGX_FPrintF(r->fx->out, "Status: %d %s\r\nContent-Type: application/json\r\n"
	                    "Cache-Control: no-store\r\nX-Request-Id: %s\r\n%s\r\n",
	                    status, http_status_text(status), r->request_id,
	                    extra != NULL ? extra : "") < 0 ? -1 : 0;
}

int http_send_json(struct http_req *r, int status, json_t *body, const char *extra)
{
	FCGX_Stream *out = r->fx->out;
	char *text = NULL;
	int rc = 0;

	if (body != NULL && json_object_get(body, "request_id") == NULL)
		json_object_set_new(body, "request_id", json_string(r->request_id));
	/* Compact output: results can carry megabytes of base64. */
	text = body != NULL ? json_dumps(body, JSON_COMPACT) : NULL;
	json_decref(body);
	if (text == NULL) {
		status = 500;
		text = strdup("{\"error\":{\"code\":\"internal\",\"message\":\"out of memory\"}}");
		if (text == NULL)
			return -1;
	}
	if (put_head(r, status, extra) < 0 ||
	    FCGX_PutStr(text, (int)strlen(text), out) < 0 || FCGX_PutS("\n", out) < 0 ||
	    FCGX_FFlush(out) < 0)
		rc = -1;
	free(text);
	return rc;
}

int http_send_error(struct http_req *r, int status, const char *code,
                    const char *message, const char *field, const char *extra)
{
	json_t *e = resp_error(code, message, field);

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

	if (resp_result_write(res, o, result_put, &k) < 0) {
		if (!k.started)
			return http_send_error(r, 500, "internal", "out of memory", NULL, NULL);
		return -1;   /* the client left, or memory ran out mid-way: cut short */
	}
	if (FCGX_PutS("\n", r->fx->out) < 0 || FCGX_FFlush(r->fx->out) < 0)
		return -1;
	return 0;
}

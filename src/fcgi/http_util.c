/*
 * http_util.c - the pure helpers of the responder's HTTP handling (kept
 * apart from http.c, which needs libfcgi, so unit tests can link them).
 */
#include "fcgi/http_util.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>

#include "common/num.h"

const char *http_status_text(int status)
{
	switch (status) {
	case 200: return "OK";
	case 201: return "Created";
	case 204: return "No Content";
	case 400: return "Bad Request";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 409: return "Conflict";
	case 411: return "Length Required";
	case 413: return "Payload Too Large";
	case 415: return "Unsupported Media Type";
	case 500: return "Internal Server Error";
	case 501: return "Not Implemented";
	case 503: return "Service Unavailable";
	default: return "Error";
	}
}

/* "application/json" with optional parameters ("; charset=utf-8"), any case. */
bool http_is_json_type(const char *ct)
{
	static const char want[] = "application/json";
	size_t n = sizeof want - 1;

	if (!ct)
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
	return num_parse_u64(s, out);   /* the one strict parser (common/num.h) */
}

/* Request ids end up in a response header and in log lines: accept only a
 * short token so that a client cannot inject header lines or JSON. */
bool http_reqid_valid(const char *s)
{
	size_t n = 0;

	if (!s)
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

	if (len < sizeof raw * 2 + 1)
		return -1;
	if (getrandom(raw, sizeof raw, 0) != (ssize_t)sizeof raw)
		return -1;
	for (size_t i = 0; i < sizeof raw; i++)
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

	if (!msec)
		return -1;
	errno = 0;
	start = strtod(msec, &end);
	if (errno != 0 || end == msec || *end != '\0' || start <= 0)
		return -1;
	age = (int64_t)((double)now->tv_sec * 1000.0 + (double)now->tv_nsec / 1e6 - start * 1000.0);
	return age < 0 ? 0 : age;
}

bool http_queue_expired(int64_t queued_ms, uint64_t timeout_ms)
{
	return timeout_ms > 0 && queued_ms >= 0 && (uint64_t)queued_ms > timeout_ms;
}

/* Whether the parameters of one media range (after its ';') hold q=0. */
static bool q_is_zero(const char *p, const char *end)
{
	while (p < end) {
		const char *semi = memchr(p, ';', (size_t)(end - p));
		const char *stop = semi ? semi : end;
		while (p < stop && (*p == ' ' || *p == '\t'))
			p++;
		if (stop - p >= 2 && (p[0] == 'q' || p[0] == 'Q') && p[1] == '=') {
			const char *v = p + 2;
			if (v < stop && *v == '0') {
				v++;
				if (v < stop && *v == '.')
					for (v++; v < stop && *v == '0'; v++)
						;
				while (v < stop && (*v == ' ' || *v == '\t'))
					v++;
				if (v == stop)
					return true;
			}
		}
		p = semi ? semi + 1 : end;
	}
	return false;
}

bool http_accepts_ndjson(const char *accept)
{
	static const char want[] = "application/x-ndjson";
	const char *p = accept;

	while (p && *p) {
		const char *comma = strchr(p, ',');
		const char *end = comma ? comma : p + strlen(p);
		const char *t = p, *te;
		while (t < end && (*t == ' ' || *t == '\t'))
			t++;
		te = t;
		while (te < end && *te != ';' && *te != ' ' && *te != '\t')
			te++;
		if ((size_t)(te - t) == sizeof want - 1 && strncasecmp(t, want, sizeof want - 1) == 0) {
			const char *params = memchr(te, ';', (size_t)(end - te));
			if (!params || !q_is_zero(params + 1, end))
				return true;
		}
		p = comma ? comma + 1 : NULL;
	}
	return false;
}

static int hexval(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Decodes n bytes of src into buf (len with its NUL). */
static int query_decode(const char *src, size_t n, char *buf, size_t len)
{
	size_t o = 0;

	for (size_t i = 0; i < n; i++) {
		int c = (unsigned char)src[i];

		if (c == '+') {
			c = ' ';
		} else if (c == '%') {
			int hi = i + 2 < n ? hexval(src[i + 1]) : -1;
			int lo = i + 2 < n ? hexval(src[i + 2]) : -1;

			if (hi < 0 || lo < 0 || (hi == 0 && lo == 0))
				return -1;
			c = hi * 16 + lo;
			i += 2;
		}
		if (o + 1 >= len)
			return -1;
		buf[o++] = (char)c;
	}
	buf[o] = '\0';
	return 1;
}

/* The parameter name of query q[0..qlen): its value (not decoded) and
 * length, or NULL.  bare: a parameter without '=' ("?wait") counts, with
 * an empty value. */
static const char *query_find(const char *q, size_t qlen, const char *name, bool bare,
                              size_t *vlen)
{
	size_t nlen = strlen(name);
	const char *end = q ? q + qlen : NULL;

	while (q && q < end) {
		const char *amp = memchr(q, '&', (size_t)(end - q));
		size_t plen = (size_t)((amp ? amp : end) - q);

		if (plen > nlen && strncmp(q, name, nlen) == 0 && q[nlen] == '=') {
			*vlen = plen - nlen - 1;
			return q + nlen + 1;
		}
		if (bare && plen == nlen && strncmp(q, name, nlen) == 0) {
			*vlen = 0;
			return q + plen;
		}
		q = amp ? amp + 1 : NULL;
	}
	return NULL;
}

int http_query_get(const char *qs, const char *name, char *buf, size_t len)
{
	size_t vlen;
	const char *v = query_find(qs, qs ? strlen(qs) : 0, name, true, &vlen);

	return v ? query_decode(v, vlen, buf, len) : 0;
}

int http_pct_decode(const char *in, size_t len, bool plus_space, char *out, size_t outsize,
                    size_t *outlen)
{
	size_t o = 0;

	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)in[i];

		if (c == '%') {
			int hi = i + 2 < len ? hexval((unsigned char)in[i + 1]) : -1;
			int lo = i + 2 < len ? hexval((unsigned char)in[i + 2]) : -1;

			if (hi < 0 || lo < 0)
				return -1;
			c = (unsigned char)(hi << 4 | lo);
			i += 2;
		} else if (c == '+' && plus_space) {
			c = ' ';
		}
		if (o + 1 >= outsize)
			return -1;
		out[o++] = (char)c;
	}
	out[o] = '\0';
	*outlen = o;
	return 0;
}

const char *http_query_param(const char *q, size_t qlen, const char *name, size_t *vlen)
{
	return query_find(q, qlen, name, false, vlen);
}

const char *http_type_by_name(const char *name)
{
	/* Text types are served as text/plain, never text/html or an image
	 * type a browser would render from someone else's workspace (with
	 * X-Content-Type-Options: nosniff on every download). */
	static const struct { const char *ext, *type; } types[] = {
		{ "txt", "text/plain; charset=utf-8" }, { "log", "text/plain; charset=utf-8" },
		{ "md", "text/plain; charset=utf-8" }, { "py", "text/plain; charset=utf-8" },
		{ "js", "text/plain; charset=utf-8" }, { "c", "text/plain; charset=utf-8" },
		{ "h", "text/plain; charset=utf-8" }, { "sh", "text/plain; charset=utf-8" },
		{ "html", "text/plain; charset=utf-8" }, { "csv", "text/csv; charset=utf-8" },
		{ "json", "application/json" }, { "png", "image/png" }, { "jpg", "image/jpeg" },
		{ "jpeg", "image/jpeg" }, { "gif", "image/gif" }, { "pdf", "application/pdf" },
		{ "zip", "application/zip" }, { "gz", "application/gzip" }, { "tar", "application/x-tar" },
	};
	const char *slash = strrchr(name, '/'), *base = slash ? slash + 1 : name;
	const char *dot = strrchr(base, '.');

	if (!dot || dot == base)
		return "application/octet-stream";
	for (size_t i = 0; i < sizeof types / sizeof types[0]; i++)
		if (strcasecmp(dot + 1, types[i].ext) == 0)
			return types[i].type;
	return "application/octet-stream";
}

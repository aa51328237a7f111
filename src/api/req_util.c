/*
 * req_util.c - small helpers of the request code: error filling, string
 * vectors and "{key}" substitution in runtime argv templates.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/api_private.h"
#include "api/resp.h"

int req_fail(struct req_error *err, int http_status, const char *code,
             const char *field, const char *fmt, ...)
{
	va_list ap;

	err->http_status = http_status;
	snprintf(err->code, sizeof err->code, "%s", code);
	snprintf(err->field, sizeof err->field, "%s", field ? field : "");
	va_start(ap, fmt);
	/* Truncation of a long message is acceptable: it stays a valid string. */
	vsnprintf(err->message, sizeof err->message, fmt, ap);
	va_end(ap);
	api_utf8_fix(err->field, sizeof err->field);
	api_utf8_fix(err->message, sizeof err->message);
	return -1;
}

void api_utf8_fix(char *buf, size_t size)
{
	size_t n, len = strlen(buf);
	char *clean = resp_utf8_clean(buf, len, &n);

	if (!clean) {
		buf[0] = '\0';   /* out of memory: an empty text is still valid */
		return;
	}
	if (n >= size) {
		n = size - 1;
		while (n && ((unsigned char)clean[n] & 0xc0) == 0x80)
			n--;   /* clean[n] would start the next character: cut before it */
	}
	memcpy(buf, clean, n);
	buf[n] = '\0';
	free(clean);
}

char **strv_new(size_t n)
{
	return calloc(n + 1, sizeof(char *));
}

void strv_free(char **v)
{
	if (!v)
		return;
	for (char **p = v; *p; p++)
		free(*p);
	free(v);
}

size_t strv_len(char *const *v)
{
	size_t n = 0;
	while (v && v[n])
		n++;
	return n;
}

char **strv_dup(char *const *v)
{
	size_t n = strv_len(v);
	char **d = strv_new(n);
	if (!d)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		if (!(d[i] = strdup(v[i]))) {
			strv_free(d);
			return NULL;
		}
	}
	return d;
}

/* Length of the value for the key starting at s ("{key}..."), or -1. */
static long subst_match(const char *s, const char *const *keys, size_t *keylen)
{
	for (size_t k = 0; keys[k]; k++) {
		size_t kl = strlen(keys[k]);
		if (strncmp(s + 1, keys[k], kl) == 0 && s[kl + 1] == '}') {
			*keylen = kl + 2;
			return (long)k;
		}
	}
	return -1;
}

char *req_subst(const char *tmpl, const char *const *keys, const char *const *vals)
{
	size_t cap = strlen(tmpl) + 1, n = 0, kl;
	for (const char *p = tmpl; *p; p++) {
		long k = *p == '{' ? subst_match(p, keys, &kl) : -1;
		if (k >= 0)
			cap += strlen(vals[k]);
	}
	char *out = malloc(cap);
	if (!out)
		return NULL;
	for (const char *p = tmpl; *p;) {
		long k = *p == '{' ? subst_match(p, keys, &kl) : -1;
		if (k < 0) {
			out[n++] = *p++;
			continue;
		}
		size_t vl = strlen(vals[k]);
		memcpy(out + n, vals[k], vl);
		n += vl;
		p += kl;
	}
	out[n] = '\0';
	return out;
}

char **req_subst_argv(char *const *tmpl, const char *const *keys, const char *const *vals)
{
	size_t n = strv_len(tmpl);
	char **v = strv_new(n);
	if (!v)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		if (!(v[i] = req_subst(tmpl[i], keys, vals))) {
			strv_free(v);
			return NULL;
		}
	}
	return v;
}

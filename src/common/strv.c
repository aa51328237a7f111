/*
 * strv.c - NULL-terminated string vectors and "{key}" substitution (see
 * strv.h).
 */
#include <stdlib.h>
#include <string.h>

#include "common/strv.h"

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

char *strv_subst(const char *tmpl, const char *const *keys, const char *const *vals)
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

char **strv_subst_all(char *const *tmpl, const char *const *keys, const char *const *vals)
{
	size_t n = strv_len(tmpl);
	char **v = strv_new(n);
	if (!v)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		if (!(v[i] = strv_subst(tmpl[i], keys, vals))) {
			strv_free(v);
			return NULL;
		}
	}
	return v;
}

/*
 * utf8.c - bytes into valid UTF-8 for the JSON answer (program output,
 * request data quoted in error messages).
 * Rule (documented in docs/API.md): every byte that does not start a
 * complete, shortest-form UTF-8 sequence of a Unicode scalar value becomes
 * U+FFFD, one per byte, and scanning resumes at the next byte. So overlong
 * forms (C0 80), UTF-16 surrogates (ED A0 80), code points above U+10FFFF
 * (F4 90 80 80) and sequences cut short (E2 82 at the end or before ASCII)
 * are each replaced byte by byte; valid text, NUL included, is unchanged.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/utf8.h"

static bool cont(unsigned char c)
{
	return (c & 0xc0) == 0x80;
}

/* The length of the sequence a lead byte c starts (0: none) and the range
 * [*lo, *hi] its second byte must be in. */
static size_t lead(unsigned char c, unsigned char *lo, unsigned char *hi)
{
	size_t len;

	*lo = 0x80;
	*hi = 0xbf;
	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		len = 2;
	else if (c >= 0xe0 && c <= 0xef)
		len = 3;
	else if (c >= 0xf0 && c <= 0xf4)
		len = 4;
	else
		return 0;   /* stray continuation byte, C0/C1 overlong lead, F5..FF */
	if (c == 0xe0)
		*lo = 0xa0;  /* overlong below U+0800 */
	else if (c == 0xed)
		*hi = 0x9f;  /* U+D800..U+DFFF surrogates */
	else if (c == 0xf0)
		*lo = 0x90;  /* overlong below U+10000 */
	else if (c == 0xf4)
		*hi = 0x8f;  /* above U+10FFFF */
	return len;
}

/* Whether the first n bytes of the sequence at s (n >= 1) are as a valid
 * sequence of length len begins. */
static bool prefix_ok(const unsigned char *s, size_t n, unsigned char lo, unsigned char hi)
{
	if (n >= 2 && (s[1] < lo || s[1] > hi))
		return false;
	for (size_t i = 2; i < n; i++)
		if (!cont(s[i]))
			return false;
	return true;
}

size_t utf8_seq(const unsigned char *s, size_t n)
{
	unsigned char lo, hi;
	size_t len = lead(s[0], &lo, &hi);

	if (len == 1)
		return 1;
	if (len == 0 || n < len || !prefix_ok(s, len, lo, hi))
		return 0;
	return len;
}

bool utf8_incomplete(const unsigned char *s, size_t n)
{
	unsigned char lo, hi;
	size_t len = lead(s[0], &lo, &hi);

	return len > 1 && n < len && prefix_ok(s, n, lo, hi);
}

char *utf8_clean(const char *s, size_t len, size_t *outlen)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t n = 0, need = 0;

	if (len > (SIZE_MAX - 1) / 3)
		return NULL;
	/* Sized exactly in a first pass: output is mostly valid, and a 3x
	 * worst-case buffer for 16 MiB of output would be 48 MiB. */
	for (size_t i = 0; i < len;) {
		size_t k = utf8_seq(u + i, len - i);
		need += k ? k : 3;
		i += k ? k : 1;
	}
	char *out = malloc(need + 1);
	if (!out)
		return NULL;
	for (size_t i = 0; i < len;) {
		size_t k = utf8_seq(u + i, len - i);
		if (k) {
			memcpy(out + n, s + i, k);
			n += k;
			i += k;
		} else {
			memcpy(out + n, "\xef\xbf\xbd", 3);
			n += 3;
			i++;
		}
	}
	out[n] = '\0';
	if (outlen)
		*outlen = n;
	return out;
}

void utf8_fix(char *buf, size_t size)
{
	size_t n, len = strlen(buf);
	char *clean = utf8_clean(buf, len, &n);

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

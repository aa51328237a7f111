/*
 * b64.c - base64 for request files (decode) and returned output files
 * (encode). Strict decoding: a request either carries canonical base64 or is
 * rejected, so two different bodies never mean the same file by accident.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/b64.h"

static const char b64_alphabet[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

char *b64_encode(const unsigned char *in, size_t len, size_t *outlen)
{
	size_t n = (len + 2) / 3 * 4;
	if (len > (SIZE_MAX - 1) / 4 * 3 - 3)
		return NULL;
	char *out = malloc(n + 1), *p = out;
	if (!out)
		return NULL;
	for (size_t i = 0; i < len; i += 3) {
		uint32_t v = (uint32_t)in[i] << 16;
		size_t left = len - i;
		if (left > 1)
			v |= (uint32_t)in[i + 1] << 8;
		if (left > 2)
			v |= in[i + 2];
		*p++ = b64_alphabet[(v >> 18) & 63];
		*p++ = b64_alphabet[(v >> 12) & 63];
		*p++ = left > 1 ? b64_alphabet[(v >> 6) & 63] : '=';
		*p++ = left > 2 ? b64_alphabet[v & 63] : '=';
	}
	*p = '\0';
	if (outlen)
		*outlen = n;
	return out;
}

static int b64_value(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

/* Decodes one 4-symbol group; `last` allows padding. Returns bytes or -1. */
static int b64_group(const char *g, bool last, unsigned char *o)
{
	int v[4], pad = 0;
	for (int k = 0; k < 4; k++) {
		if (g[k] == '=' && last && k >= 2) {
			pad++;
			v[k] = 0;
			continue;
		}
		if (pad || (v[k] = b64_value((unsigned char)g[k])) < 0)
			return -1;   /* data after '=' or a foreign byte */
	}
	uint32_t x = (uint32_t)v[0] << 18 | (uint32_t)v[1] << 12 | (uint32_t)v[2] << 6 | (uint32_t)v[3];
	/* Non-canonical: bits below the last full byte must be zero. */
	if ((pad == 1 && (x & 0xff)) || (pad == 2 && (x & 0xffff)))
		return -1;
	o[0] = (unsigned char)(x >> 16);
	o[1] = (unsigned char)(x >> 8);
	o[2] = (unsigned char)x;
	return 3 - pad;
}

int b64_decode(const char *in, size_t len, unsigned char **out, size_t *outlen)
{
	if (len % 4)
		return -1;
	unsigned char *buf = malloc(len / 4 * 3 + 1);
	size_t n = 0;
	if (!buf)
		return -1;
	for (size_t i = 0; i < len; i += 4) {
		int r = b64_group(in + i, i + 4 == len, buf + n);
		if (r < 0) {
			free(buf);
			return -1;
		}
		n += (size_t)r;
	}
	buf[n] = '\0';
	*out = buf;
	*outlen = n;
	return 0;
}

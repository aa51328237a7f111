/*
 * b64.h - base64 (RFC 4648, standard alphabet, padded) for request files
 * (decode) and returned output files (encode).
 */
#ifndef SANDBOX_COMMON_B64_H
#define SANDBOX_COMMON_B64_H

#include <stddef.h>

/* malloc'd, NUL-terminated; *outlen its length. NULL on OOM/overflow. */
char *b64_encode(const unsigned char *in, size_t len, size_t *outlen);
/* Strict: no whitespace, no missing or extra padding, no non-zero bits after
 * the last symbol, so one byte string has exactly one accepted encoding.
 * Returns 0 and a malloc'd buffer (NUL-terminated), or -1 on bad input/OOM. */
int b64_decode(const char *in, size_t len, unsigned char **out, size_t *outlen);

#endif

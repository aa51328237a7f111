/*
 * sha256.h - SHA-256 (FIPS 180-4), incremental. Pure code; used for the
 * digest of session uploads, computed while the body streams to disk.
 */
#ifndef SANDBOX_COMMON_SHA256_H
#define SANDBOX_COMMON_SHA256_H

#include <stddef.h>
#include <stdint.h>

#define SHA256_LEN 32

struct sha256 {
	uint32_t h[8];
	uint64_t bytes;              /* message length so far */
	unsigned char buf[64];
	size_t used;                 /* bytes in buf */
};

void sha256_init(struct sha256 *c);
void sha256_update(struct sha256 *c, const void *data, size_t len);
void sha256_final(struct sha256 *c, unsigned char out[SHA256_LEN]);
/* The digest as 64 lowercase hex digits and a NUL. */
void sha256_hex(const unsigned char d[SHA256_LEN], char out[2 * SHA256_LEN + 1]);

#endif

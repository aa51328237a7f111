/*
 * cb_sign.c - the callback signature: hex HMAC-SHA256(secret, ts "." body),
 * with OpenSSL's libcrypto (EVP_MAC, OpenSSL 3): a reviewed, constant-time
 * implementation that Debian patches, rather than our own SHA-256. The
 * timestamp is inside the signed bytes so that a receiver that refuses old
 * timestamps also refuses a replayed delivery (docs/API.md, "Callbacks").
 */
#include "callback/cb.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/params.h>

static EVP_MAC_CTX *mac_new(const unsigned char *key, size_t keylen)
{
	EVP_MAC *mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
	EVP_MAC_CTX *ctx = mac ? EVP_MAC_CTX_new(mac) : NULL;
	char digest[] = "SHA256";
	OSSL_PARAM params[] = {
		OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0),
		OSSL_PARAM_construct_end(),
	};

	EVP_MAC_free(mac);   /* the context holds its own reference */
	if (ctx && EVP_MAC_init(ctx, key, keylen, params) != 1) {
		EVP_MAC_CTX_free(ctx);
		ctx = NULL;
	}
	return ctx;
}

static int mac_final(EVP_MAC_CTX *ctx, unsigned char out[32])
{
	size_t n = 0;
	int ok = EVP_MAC_final(ctx, out, &n, 32) == 1 && n == 32;

	EVP_MAC_CTX_free(ctx);
	return ok ? 0 : -1;
}

int cb_hmac_sha256(const unsigned char *key, size_t keylen, const unsigned char *msg,
                   size_t len, unsigned char out[32])
{
	EVP_MAC_CTX *ctx = mac_new(key, keylen);

	if (!ctx)
		return -1;
	if (EVP_MAC_update(ctx, msg, len) != 1) {
		EVP_MAC_CTX_free(ctx);
		return -1;
	}
	return mac_final(ctx, out);
}

int cb_sign(const unsigned char *key, size_t keylen, int64_t ts, const char *body,
            size_t len, char out[CB_SIG_HEX_LEN + 1])
{
	static const char hex[] = "0123456789abcdef";
	EVP_MAC_CTX *ctx = mac_new(key, keylen);
	unsigned char mac[32];
	char prefix[32];
	int n = snprintf(prefix, sizeof prefix, "%" PRId64 ".", ts);

	if (!ctx)
		return -1;
	if (n < 0 || (size_t)n >= sizeof prefix ||
	    EVP_MAC_update(ctx, (const unsigned char *)prefix, (size_t)n) != 1 ||
	    EVP_MAC_update(ctx, (const unsigned char *)body, len) != 1) {
		EVP_MAC_CTX_free(ctx);
		return -1;
	}
	if (mac_final(ctx, mac) < 0)
		return -1;
	for (size_t i = 0; i < 32; i++) {
		out[2 * i] = hex[mac[i] >> 4];
		out[2 * i + 1] = hex[mac[i] & 15];
	}
	out[CB_SIG_HEX_LEN] = '\0';
	return 0;
}

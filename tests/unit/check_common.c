/* Unit tests of src/common helpers not covered elsewhere: the strict
 * integer parser (num.h), the unknown-key check (json_util.h) and SHA-256
 * (sha256.h, with the FIPS 180-4 / NIST CAVP example vectors).
 * b64, utf8, path and strv: check_utf8.c, check_paths.c. */
#include <check.h>
#include <stdint.h>
#include <string.h>

#include "api_test.h"
#include "common/json_util.h"
#include "common/num.h"
#include "common/sha256.h"

START_TEST(num_strict)
{
	static const char *const bad[] = { "", " 1", "+1", "-1", "1x", "1 ", "0x10", "1.0",
	                                   "18446744073709551616", NULL };
	uint64_t v = 7;

	ck_assert_int_eq(num_parse_u64("0", &v), 0);
	ck_assert_uint_eq(v, 0);
	ck_assert_int_eq(num_parse_u64("18446744073709551615", &v), 0);
	ck_assert_uint_eq(v, UINT64_MAX);
	ck_assert_int_eq(num_parse_u64("007", &v), 0);
	ck_assert_uint_eq(v, 7);
	for (size_t i = 0; bad[i]; i++) {
		v = 42;
		ck_assert_msg(num_parse_u64(bad[i], &v) == -1, "'%s' accepted", bad[i]);
		ck_assert_uint_eq(v, 42);   /* left alone on failure */
	}
	ck_assert_int_eq(num_parse_u64(NULL, &v), -1);
}
END_TEST

START_TEST(unknown_key)
{
	static const char *const allowed[] = { "a", "b", NULL };
	json_error_t je;
	json_t *ok = json_loads("{\"a\":1,\"b\":2}", 0, &je);
	json_t *bad = json_loads("{\"a\":1,\"c\":2,\"d\":3}", 0, &je);
	json_t *nul = json_object();

	ck_assert_ptr_null(json_unknown_key(ok, allowed));
	ck_assert_str_eq(json_unknown_key(bad, allowed), "c");
	ck_assert_int_eq(json_object_setn_new(nul, "a\0b", 3, json_true()), 0);
	/* "a\0b" is not "a": the C string alone would say it is. */
	ck_assert_ptr_nonnull(json_unknown_key(nul, allowed));
	json_decref(ok);
	json_decref(bad);
	json_decref(nul);
}
END_TEST

static void sha_hex_of(const void *data, size_t len, size_t chunk, char out[65])
{
	struct sha256 c;
	unsigned char d[SHA256_LEN];
	const unsigned char *p = data;

	sha256_init(&c);
	while (len > 0) {
		size_t n = chunk < len ? chunk : len;

		sha256_update(&c, p, n);
		p += n;
		len -= n;
	}
	sha256_final(&c, d);
	sha256_hex(d, out);
}

/* FIPS 180-4's examples (NIST "SHA256.pdf", "SHA2_Additional.pdf"): one
 * block, two blocks, empty, and a million 'a' (many blocks); each fed
 * whole, byte by byte and in odd chunks, so block boundaries inside an
 * update are covered. */
START_TEST(sha256_vectors)
{
	static const struct { const char *msg, *hex; } v[] = {
		{ "abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad" },
		{ "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
		  "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1" },
		{ "", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855" },
		{ "abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopq"
		  "klmnopqrlmnopqrsmnopqrstnopqrstu",
		  "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1" },
	};
	static const size_t chunks[] = { 1, 3, 63, 64, 65, 1000 };
	char hex[65];

	for (size_t i = 0; i < sizeof v / sizeof v[0]; i++)
		for (size_t c = 0; c < sizeof chunks / sizeof chunks[0]; c++) {
			sha_hex_of(v[i].msg, strlen(v[i].msg), chunks[c], hex);
			ck_assert_msg(strcmp(hex, v[i].hex) == 0, "vector %zu chunk %zu: %s", i,
			              chunks[c], hex);
		}
	/* 55 and 56 bytes: the padding fits in the block, or needs another */
	sha_hex_of("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", 55, 7, hex);
	ck_assert_str_eq(hex, "9f4390f8d30c2dd92ec9f095b65e2b9ae9b0a925a5258e241c9f1e910f734318");
	sha_hex_of("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", 56, 56, hex);
	ck_assert_str_eq(hex, "b35439a4ac6f0948b6d6f9e3c6af0f5f590ce20f1bde7090ef7970686ec6738a");
}
END_TEST

START_TEST(sha256_million_a)
{
	static char a[1000000];
	char hex[65];

	memset(a, 'a', sizeof a);
	sha_hex_of(a, sizeof a, 4099, hex);
	ck_assert_str_eq(hex, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}
END_TEST

Suite *common_suite(void)
{
	Suite *s = suite_create("common");
	TCase *tc = tcase_create("core");
	tcase_add_test(tc, num_strict);
	tcase_add_test(tc, unknown_key);
	tcase_add_test(tc, sha256_vectors);
	tcase_add_test(tc, sha256_million_a);
	suite_add_tcase(s, tc);
	return s;
}

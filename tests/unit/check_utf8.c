/* check_utf8.c - output made valid UTF-8 (one U+FFFD per invalid byte),
 * and the strict base64 of request and output files. */
#include <stdlib.h>
#include <string.h>

#include "api_test.h"
#include "common/b64.h"
#include "common/utf8.h"

#define FFFD "\xef\xbf\xbd"

static void expect_clean(const char *in, size_t len, const char *want, size_t wantlen)
{
	size_t n;
	char *out = utf8_clean(in, len, &n);
	ck_assert_ptr_nonnull(out);
	ck_assert_uint_eq(n, wantlen);
	ck_assert_msg(memcmp(out, want, n) == 0, "cleaned bytes differ");
	ck_assert_int_eq(out[n], '\0');
	free(out);
}

#define CLEAN(in, want) expect_clean(in, sizeof(in) - 1, want, sizeof(want) - 1)

START_TEST(valid_unchanged)
{
	CLEAN("hello", "hello");
	CLEAN("", "");
	CLEAN("a\0b", "a\0b");                              /* NUL is valid UTF-8 */
	CLEAN("\xc2\x80\xdf\xbf", "\xc2\x80\xdf\xbf");      /* 2-byte bounds */
	CLEAN("\xe0\xa0\x80\xef\xbf\xbf", "\xe0\xa0\x80\xef\xbf\xbf");
	CLEAN("\xed\x9f\xbf", "\xed\x9f\xbf");              /* U+D7FF, below surrogates */
	CLEAN("\xf0\x90\x80\x80\xf4\x8f\xbf\xbf", "\xf0\x90\x80\x80\xf4\x8f\xbf\xbf");
}
END_TEST

START_TEST(overlongs)
{
	CLEAN("\xc0\x80", FFFD FFFD);
	CLEAN("\xc1\xbf", FFFD FFFD);
	CLEAN("\xe0\x80\xaf", FFFD FFFD FFFD);              /* overlong '/' */
	CLEAN("\xe0\x9f\xbf", FFFD FFFD FFFD);
	CLEAN("\xf0\x8f\xbf\xbf", FFFD FFFD FFFD FFFD);
}
END_TEST

START_TEST(surrogates_and_range)
{
	CLEAN("\xed\xa0\x80", FFFD FFFD FFFD);              /* U+D800 */
	CLEAN("\xed\xbf\xbf", FFFD FFFD FFFD);              /* U+DFFF */
	CLEAN("\xf4\x90\x80\x80", FFFD FFFD FFFD FFFD);     /* U+110000 */
	CLEAN("\xf5\x80\x80\x80", FFFD FFFD FFFD FFFD);
	CLEAN("\xff\xfe", FFFD FFFD);
}
END_TEST

START_TEST(truncated_and_stray)
{
	CLEAN("\xe2\x82", FFFD FFFD);                       /* cut at the end */
	CLEAN("\xe2\x82" "A", FFFD FFFD "A");               /* cut before ASCII */
	CLEAN("\xf0\x9f\x98", FFFD FFFD FFFD);
	CLEAN("\x80" "a" "\xbf", FFFD "a" FFFD);            /* stray continuations */
	CLEAN("\xc3", FFFD);
	CLEAN("x\xc3\xa9\xc3", "x\xc3\xa9" FFFD);
}
END_TEST

START_TEST(result_is_valid_for_jansson)
{
	unsigned char all[256];
	size_t n;
	for (int i = 0; i < 256; i++)
		all[i] = (unsigned char)i;
	char *out = utf8_clean((const char *)all, sizeof all, &n);
	json_t *s = json_stringn(out, n);   /* NULL if not valid UTF-8 */
	ck_assert_ptr_nonnull(s);
	/* 128 ASCII bytes kept, 128 high bytes each replaced (none starts a
	 * complete sequence in this order: 0xc2 is followed by 0xc3). */
	ck_assert_uint_eq(n, 128 + 128 * 3);
	json_decref(s);
	free(out);
}
END_TEST

START_TEST(b64_roundtrip)
{
	const char *cases[][2] = { { "", "" }, { "f", "Zg==" }, { "fo", "Zm8=" }, { "foo", "Zm9v" },
	                           { "foob", "Zm9vYg==" }, { "fooba", "Zm9vYmE=" }, { "foobar", "Zm9vYmFy" } };
	for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
		size_t n;
		unsigned char *d;
		char *e = b64_encode((const unsigned char *)cases[i][0], strlen(cases[i][0]), &n);
		ck_assert_str_eq(e, cases[i][1]);
		ck_assert_int_eq(b64_decode(e, n, &d, &n), 0);
		ck_assert_uint_eq(n, strlen(cases[i][0]));
		ck_assert(memcmp(d, cases[i][0], n) == 0);
		free(e);
		free(d);
	}
}
END_TEST

START_TEST(b64_strict)
{
	const char *bad[] = { "Zg=", "Zg", "Z===", "Zh==", "Zm9=", "Zm 9v", "Zm9v\n", "Zg==Zg==",
	                      "=Zm9", "Zm9v!A==", "Zm-_", "Zg=a" };
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
		unsigned char *d = NULL;
		size_t n;
		ck_assert_msg(b64_decode(bad[i], strlen(bad[i]), &d, &n) == -1, "'%s' accepted", bad[i]);
		ck_assert_ptr_null(d);
	}
}
END_TEST

Suite *utf8_suite(void)
{
	Suite *s = suite_create("utf8");
	TCase *tc = tcase_create("core");
	tcase_add_test(tc, valid_unchanged);
	tcase_add_test(tc, overlongs);
	tcase_add_test(tc, surrogates_and_range);
	tcase_add_test(tc, truncated_and_stray);
	tcase_add_test(tc, result_is_valid_for_jansson);
	tcase_add_test(tc, b64_roundtrip);
	tcase_add_test(tc, b64_strict);
	suite_add_tcase(s, tc);
	return s;
}

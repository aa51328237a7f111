/* Unit tests of src/common helpers not covered elsewhere: the strict
 * integer parser (num.h) and the unknown-key check (json_util.h).
 * b64, utf8, path and strv: check_utf8.c, check_paths.c. */
#include <check.h>
#include <stdint.h>

#include "api_test.h"
#include "common/json_util.h"
#include "common/num.h"

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

Suite *common_suite(void)
{
	Suite *s = suite_create("common");
	TCase *tc = tcase_create("core");
	tcase_add_test(tc, num_strict);
	tcase_add_test(tc, unknown_key);
	suite_add_tcase(s, tc);
	return s;
}

/*
 * check_log.c - journald priority prefixes (src/fcgi/log_fmt.c): the level
 * to "<N>" map of sd-daemon(3), and when stderr is the journal's stream.
 */
#include <check.h>
#include <stdlib.h>

#include "fcgi/log_fmt.h"

START_TEST(prefix_levels)
{
	ck_assert_str_eq(log_fmt_prefix("error"), "<3>");
	ck_assert_str_eq(log_fmt_prefix("warning"), "<4>");
	ck_assert_str_eq(log_fmt_prefix("notice"), "<5>");
	ck_assert_str_eq(log_fmt_prefix("info"), "<6>");
	ck_assert_str_eq(log_fmt_prefix("debug"), "<7>");
	ck_assert_str_eq(log_fmt_prefix("bogus"), "<5>");
	ck_assert_str_eq(log_fmt_prefix(NULL), "<5>");
	ck_assert_str_eq(log_fmt_prefix("Error"), "<5>");   /* exact names only */
}
END_TEST

START_TEST(journal_stream_matches_stderr)
{
	ck_assert(log_fmt_is_journal("8:12345", 8, 12345));
	ck_assert(log_fmt_is_journal("18446744073709551615:1", 18446744073709551615ULL, 1));
}
END_TEST

START_TEST(journal_stream_other_or_bad)
{
	/* stderr redirected to a file under systemd: same variable, other inode */
	ck_assert(!log_fmt_is_journal("8:12345", 8, 12346));
	ck_assert(!log_fmt_is_journal("9:12345", 8, 12345));
	ck_assert(!log_fmt_is_journal(NULL, 8, 12345));
	ck_assert(!log_fmt_is_journal("", 0, 0));
	ck_assert(!log_fmt_is_journal(":", 0, 0));
	ck_assert(!log_fmt_is_journal("8:", 8, 0));
	ck_assert(!log_fmt_is_journal(":5", 0, 5));
	ck_assert(!log_fmt_is_journal("8:5x", 8, 5));
	ck_assert(!log_fmt_is_journal("8:5:6", 8, 5));
	ck_assert(!log_fmt_is_journal("-8:5", (unsigned long long)-8, 5));
	ck_assert(!log_fmt_is_journal(" 8:5", 8, 5));
	ck_assert(!log_fmt_is_journal("8: 5", 8, 5));
	ck_assert(!log_fmt_is_journal("99999999999999999999:5", 0, 5));   /* overflow */
}
END_TEST

int main(void)
{
	Suite *s = suite_create("log");
	TCase *t = tcase_create("journal");
	SRunner *sr;
	int failed;

	tcase_add_test(t, prefix_levels);
	tcase_add_test(t, journal_stream_matches_stderr);
	tcase_add_test(t, journal_stream_other_or_bad);
	suite_add_tcase(s, t);
	sr = srunner_create(s);
	srunner_set_fork_status(sr, CK_FORK);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

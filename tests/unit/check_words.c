/* check_words.c - entrypoint strings split into argv words, no expansion. */
#include <stdlib.h>

#include "api_test.h"
#include "common/strv.h"

/* Splits s and compares with the expected words (NULL-terminated). */
static void expect_words(const char *s, const char *const *want)
{
	const char *why = NULL;
	char **w = req_split_words(s, &why);
	size_t i = 0;

	ck_assert_msg(w != NULL, "'%s' refused: %s", s, why ? why : "?");
	for (; want[i]; i++) {
		ck_assert_msg(w[i] != NULL, "'%s': word %zu missing", s, i);
		ck_assert_str_eq(w[i], want[i]);
	}
	ck_assert_msg(w[i] == NULL, "'%s': extra word '%s'", s, w[i]);
	strv_free(w);
}

#define WORDS(s, ...) expect_words(s, (const char *const[]){ __VA_ARGS__, NULL })

START_TEST(plain_words)
{
	WORDS("python test.py", "python", "test.py");
	WORDS("  a\t b\n c  ", "a", "b", "c");
	WORDS("x", "x");
}
END_TEST

START_TEST(quotes)
{
	WORDS("echo 'a b' \"c d\"", "echo", "a b", "c d");
	WORDS("a'b'\"c\"d", "abcd");
	WORDS("'' \"\"", "", "");
	WORDS("'it\"s'", "it\"s");
	WORDS("\"it's\"", "it's");
	WORDS("'a\\b'", "a\\b");                  /* backslash literal in '' */
	WORDS("\"a\\\"b\\\\c\\d\"", "a\"b\\c\\d"); /* only \" \\ \$ \` escape in "" */
}
END_TEST

START_TEST(backslashes)
{
	WORDS("a\\ b", "a b");
	WORDS("\\'x", "'x");
	WORDS("a\\\nb", "ab");                    /* line continuation */
}
END_TEST

START_TEST(no_expansion)
{
	WORDS("echo $HOME ~ *.py $(id) `id` a;b | c > d &",
	      "echo", "$HOME", "~", "*.py", "$(id)", "`id`", "a;b", "|", "c", ">", "d", "&");
}
END_TEST

START_TEST(empty_input)
{
	const char *why;
	char **w = req_split_words("   ", &why);
	ck_assert_ptr_nonnull(w);
	ck_assert_ptr_null(w[0]);
	strv_free(w);
}
END_TEST

START_TEST(unbalanced)
{
	const char *why;
	ck_assert_ptr_null(req_split_words("echo 'abc", &why));
	ck_assert_str_eq(why, "unbalanced single quote");
	ck_assert_ptr_null(req_split_words("echo \"abc", &why));
	ck_assert_str_eq(why, "unbalanced double quote");
	ck_assert_ptr_null(req_split_words("echo \"a\\\"", &why));
	ck_assert_str_eq(why, "unbalanced double quote");
	ck_assert_ptr_null(req_split_words("echo \\", &why));
	ck_assert_str_eq(why, "trailing backslash");
}
END_TEST

Suite *words_suite(void)
{
	Suite *s = suite_create("words");
	TCase *tc = tcase_create("core");
	tcase_add_test(tc, plain_words);
	tcase_add_test(tc, quotes);
	tcase_add_test(tc, backslashes);
	tcase_add_test(tc, no_expansion);
	tcase_add_test(tc, empty_input);
	tcase_add_test(tc, unbalanced);
	suite_add_tcase(s, tc);
	return s;
}

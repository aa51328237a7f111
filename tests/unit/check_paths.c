/* check_paths.c - request paths, output globs and env names. */
#include <string.h>

#include "api_test.h"
#include "common/path.h"
#include "common/strv.h"

#define PATH_OK(p) ck_assert_msg(path_check(p, strlen(p), 16) == NULL, "%s refused", p)
#define PATH_BAD(p) ck_assert_msg(path_check(p, strlen(p), 16) != NULL, "%s accepted", p)

START_TEST(path_good)
{
	PATH_OK("main.py");
	PATH_OK("src/lib/util.py");
	PATH_OK("a b/c-d_e.txt");
	PATH_OK(".hidden");
	PATH_OK("..data");
	PATH_OK("dir/...");
	PATH_OK("\xc3\xa9t\xc3\xa9.txt");   /* UTF-8 names are fine */
	PATH_OK("a/b/c/d/e/f/g/h/i/j/k/l/m/n/o/p");   /* depth 16 */
}
END_TEST

START_TEST(path_bad)
{
	PATH_BAD("");
	PATH_BAD("/etc/passwd");
	PATH_BAD("..");
	PATH_BAD("../x");
	PATH_BAD("a/../../x");
	PATH_BAD("a/..");
	PATH_BAD(".");
	PATH_BAD("./a");
	PATH_BAD("a/./b");
	PATH_BAD("a//b");
	PATH_BAD("a/");
	PATH_BAD("a\nb");
	PATH_BAD("a\tb");
	PATH_BAD("a\x7f");
	PATH_BAD("a\x1b[31m");
	PATH_BAD("a/b/c/d/e/f/g/h/i/j/k/l/m/n/o/p/q");   /* depth 17 */
}
END_TEST

START_TEST(path_nul_and_lengths)
{
	char comp[300];

	ck_assert_ptr_nonnull(path_check("a\0b", 3, 16));
	memset(comp, 'x', 255);
	comp[255] = '\0';
	ck_assert_ptr_null(path_check(comp, 255, 16));
	memset(comp, 'x', 256);
	comp[256] = '\0';
	ck_assert_str_eq(path_check(comp, 256, 16), "path component longer than 255 bytes");
	/* The depth cap is the caller's. */
	ck_assert_ptr_nonnull(path_check("a/b/c", 5, 2));
	ck_assert_ptr_null(path_check("a/b", 3, 2));
}
END_TEST

START_TEST(glob_rules)
{
	ck_assert_ptr_null(path_check("out/*.png", 9, 16));
	ck_assert_ptr_null(path_check("*.[ch]", 6, 16));
	ck_assert_ptr_null(path_check("file?.txt", 9, 16));
	ck_assert_ptr_nonnull(path_check("../*", 4, 16));
	ck_assert_ptr_nonnull(path_check("/tmp/*", 6, 16));
	ck_assert_ptr_nonnull(path_check("*/../x", 6, 16));
	ck_assert_ptr_nonnull(path_check("", 0, 16));
}
END_TEST

START_TEST(env_names)
{
	ck_assert_ptr_null(req_check_env_name("FOO"));
	ck_assert_ptr_null(req_check_env_name("_x1"));
	ck_assert_ptr_null(req_check_env_name("LD_PRELOAD"));   /* allowed: see docs/API.md */
	ck_assert_ptr_nonnull(req_check_env_name(""));
	ck_assert_ptr_nonnull(req_check_env_name("1ABC"));
	ck_assert_ptr_nonnull(req_check_env_name("A=B"));
	ck_assert_ptr_nonnull(req_check_env_name("A-B"));
	ck_assert_ptr_nonnull(req_check_env_name("A B"));
	ck_assert_ptr_nonnull(req_check_env_name("\xc3\xa9"));
	ck_assert_ptr_nonnull(req_check_env_name(NULL));
}
END_TEST

START_TEST(subst_templates)
{
	const char *const keys[] = { "file", "handler", NULL };
	const char *const vals[] = { "main.py", "main.handler", NULL };
	char *s = strv_subst("--src={file}:{handler}:{other}:{file", keys, vals);
	ck_assert_str_eq(s, "--src=main.py:main.handler:{other}:{file");
	free(s);
	s = strv_subst("{file}{file}", keys, vals);
	ck_assert_str_eq(s, "main.pymain.py");
	free(s);
}
END_TEST

Suite *paths_suite(void)
{
	Suite *s = suite_create("paths");
	TCase *tc = tcase_create("core");
	tcase_add_test(tc, path_good);
	tcase_add_test(tc, path_bad);
	tcase_add_test(tc, path_nul_and_lengths);
	tcase_add_test(tc, glob_rules);
	tcase_add_test(tc, env_names);
	tcase_add_test(tc, subst_templates);
	suite_add_tcase(s, tc);
	return s;
}

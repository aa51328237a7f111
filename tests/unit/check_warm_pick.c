/*
 * check_warm_pick.c - --warm-runtime auto's choice (src/fcgi/warm_pick.c):
 * the most used runtime and template of the last runs, the newest among
 * equals, nothing before the first run, and old runs forgotten.
 */
#include <check.h>
#include <string.h>

#include "fcgi/warm_pick.h"
#include "ck_run.h"

static void best_is(const struct warm_pick *p, const char *rt, const char *tmpl)
{
	const char *r, *t;
	ck_assert(warm_pick_best(p, &r, &t));
	ck_assert_str_eq(r, rt);
	ck_assert_str_eq(t, tmpl);
}

START_TEST(empty_window_has_no_choice)
{
	struct warm_pick p;
	const char *r, *t;
	memset(&p, 0, sizeof p);
	ck_assert(!warm_pick_best(&p, &r, &t));
}
END_TEST

START_TEST(most_used_wins_and_ties_go_to_the_newest)
{
	struct warm_pick p;
	memset(&p, 0, sizeof p);
	warm_pick_note(&p, "python", "minimal");
	best_is(&p, "python", "minimal");
	warm_pick_note(&p, "node", "minimal");
	best_is(&p, "node", "minimal");              /* 1:1, node is newer */
	warm_pick_note(&p, "python", "minimal");
	best_is(&p, "python", "minimal");            /* 2:1 */
	warm_pick_note(&p, "python", "compilers");
	warm_pick_note(&p, "python", "compilers");
	best_is(&p, "python", "compilers");          /* 2:2:1, the newest pair */
	warm_pick_note(&p, "node", "minimal");
	warm_pick_note(&p, "node", "minimal");
	best_is(&p, "node", "minimal");              /* 3 */
}
END_TEST

START_TEST(old_runs_leave_the_window)
{
	struct warm_pick p;
	memset(&p, 0, sizeof p);
	for (int i = 0; i < WARM_PICK_WINDOW; i++)
		warm_pick_note(&p, "python", "minimal");
	for (int i = 0; i < WARM_PICK_WINDOW / 2; i++)
		warm_pick_note(&p, "node", "minimal");
	best_is(&p, "node", "minimal");              /* 16 node, 16 python: node newer */
	warm_pick_note(&p, "python", "minimal");
	best_is(&p, "python", "minimal");            /* 16 node, 16 python, python newer */
	for (int i = 0; i < WARM_PICK_WINDOW; i++)
		warm_pick_note(&p, "node", "minimal");
	best_is(&p, "node", "minimal");
	ck_assert_uint_eq(p.n, WARM_PICK_WINDOW);
}
END_TEST

START_TEST(overlong_names_are_not_counted)
{
	struct warm_pick p;
	char longname[100];
	memset(&p, 0, sizeof p);
	memset(longname, 'x', sizeof longname - 1);
	longname[sizeof longname - 1] = '\0';
	warm_pick_note(&p, longname, "minimal");
	warm_pick_note(&p, "python", longname);
	ck_assert_uint_eq(p.n, 0);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("warm_pick");
	TCase *tc = tcase_create("core");
	tcase_add_test(tc, empty_window_has_no_choice);
	tcase_add_test(tc, most_used_wins_and_ties_go_to_the_newest);
	tcase_add_test(tc, old_runs_leave_the_window);
	tcase_add_test(tc, overlong_names_are_not_counted);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return ck_run(suite());
}

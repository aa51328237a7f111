/* ck_run.h - the main() of the Check test programs: every test in its own
 * process (CK_FORK, so a crash or a loaded seccomp filter stays there),
 * exit status non-zero when any failed. */
#ifndef TESTS_UNIT_CK_RUN_H
#define TESTS_UNIT_CK_RUN_H

#include <check.h>
#include <stdlib.h>

static inline int ck_run(Suite *s)
{
	SRunner *sr = srunner_create(s);
	int failed;

	srunner_set_fork_status(sr, CK_FORK);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

#endif

/*
 * check_api.c - unit tests of src/api (Check). Every test runs in its own
 * fork (CK_FORK), so one crash fails one test and registry fixtures in
 * /tmp are made and removed per test.
 */
#include <stdlib.h>

#include "api_test.h"

int main(void)
{
	SRunner *sr = srunner_create(paths_suite());
	int failed;

	srunner_add_suite(sr, words_suite());
	srunner_add_suite(sr, utf8_suite());
	srunner_add_suite(sr, rt_suite());
	srunner_add_suite(sr, req_suite());
	srunner_add_suite(sr, bad_suite());
	srunner_add_suite(sr, resp_suite());
	srunner_add_suite(sr, mem_suite());
	srunner_add_suite(sr, common_suite());
	srunner_add_suite(sr, stream_suite());
	srunner_set_fork_status(sr, CK_FORK);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

# tests: each part owns a fragment.
include $(srcdir)/tests/unit/module.mk
include $(srcdir)/tests/unit/fcgi.mk
include $(srcdir)/tests/jail/module.mk
include $(srcdir)/tests/fuzz/module.mk

# Every test program of TESTS is a Check runner: Check writes TAP on stdout
# (CK_TAP_LOG_FILE_NAME=-, one line per test) and automake's TAP driver
# turns each line into a result, so that test-suite.log and make check's
# summary count each check rather than one line per program.
AM_TESTS_ENVIRONMENT = CK_TAP_LOG_FILE_NAME=-; export CK_TAP_LOG_FILE_NAME;
LOG_DRIVER = env AM_TAP_AWK='$(AWK)' $(SHELL) $(top_srcdir)/build-aux/tap-driver.sh

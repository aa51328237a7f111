# tests/jail: the long-lived library driver (leak test, benchmark). The
# isolation tests themselves are tests/jail/test_jail.py (pytest), run by
# scripts/test.sh against real jails; the probe is built static there.
check_PROGRAMS += tests/jail/jail_loop
tests_jail_jail_loop_SOURCES = tests/jail/jail_loop.c
tests_jail_jail_loop_CFLAGS = $(AM_CFLAGS) $(JANSSON_CFLAGS)
# the Python bootstraps (src/api/warm_boot.c) for its zygote mode
tests_jail_jail_loop_LDADD = $(API_LIBS) $(JAIL_LIBS)
# check_seccomp: the seccomp policy's fail-closed paths, without a jail.
if HAVE_CHECK
check_PROGRAMS += tests/jail/check_seccomp
TESTS += tests/jail/check_seccomp
tests_jail_check_seccomp_SOURCES = tests/jail/check_seccomp.c
tests_jail_check_seccomp_CFLAGS = $(AM_CFLAGS) $(SECCOMP_CFLAGS) $(LIBCAP_CFLAGS) $(CHECK_CFLAGS)
tests_jail_check_seccomp_LDADD = $(JAIL_LIBS) $(CHECK_LIBS)
endif
EXTRA_DIST += tests/jail/probe.c tests/jail/test_jail.py tests/jail/mkroot-host.sh

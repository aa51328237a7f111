# tests/jail: the long-lived library driver (leak test, benchmark). The
# isolation tests themselves are tests/jail/test_jail.py (pytest), run by
# scripts/test.sh against real jails; the probe is built static there.
check_PROGRAMS += tests/jail/jail_loop
tests_jail_jail_loop_SOURCES = tests/jail/jail_loop.c
tests_jail_jail_loop_LDADD = $(JAIL_LIBS)
EXTRA_DIST += tests/jail/probe.c tests/jail/test_jail.py tests/jail/mkroot-host.sh

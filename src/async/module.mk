# src/async: asynchronous runs kept on disk (docs/OPERATIONS.md,
# "Asynchronous runs"): ids, the state file, the queue and its claim,
# cancellation, slots and the retention sweep. System calls on the state
# directory and jansson; no jail, no FastCGI, so the unit tests link it alone.
ASYNC_SOURCES = src/async/async.h src/async/aq_state.c src/async/aq_store.c
noinst_LIBRARIES += src/async/libasync.a
src_async_libasync_a_SOURCES = $(ASYNC_SOURCES)
src_async_libasync_a_CFLAGS = $(AM_CFLAGS) $(JANSSON_CFLAGS)
ASYNC_LIBS = src/async/libasync.a $(JANSSON_LIBS)

if HAVE_CHECK
check_PROGRAMS += tests/unit/check_async
TESTS += tests/unit/check_async
tests_unit_check_async_SOURCES = tests/unit/check_async.c
tests_unit_check_async_CFLAGS = $(AM_CFLAGS) $(JANSSON_CFLAGS) $(CHECK_CFLAGS)
tests_unit_check_async_LDADD = $(ASYNC_LIBS) $(CHECK_LIBS)
endif

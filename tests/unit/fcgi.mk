# check_fcgi: the responder's pure helpers (routing, Content-Length,
# Content-Type, request ids, queue age), linked without libfcgi.
if HAVE_CHECK
check_PROGRAMS += tests/unit/check_fcgi
TESTS += tests/unit/check_fcgi
tests_unit_check_fcgi_SOURCES = tests/unit/check_fcgi.c src/fcgi/route.c src/fcgi/route.h \
	src/fcgi/http_util.c src/fcgi/http_util.h
tests_unit_check_fcgi_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
tests_unit_check_fcgi_LDADD = $(COMMON_LIBS) $(CHECK_LIBS)
endif

# check_log: journald priority prefixes (src/fcgi/log_fmt.c).
if HAVE_CHECK
check_PROGRAMS += tests/unit/check_log
TESTS += tests/unit/check_log
tests_unit_check_log_SOURCES = tests/unit/check_log.c src/fcgi/log_fmt.c src/fcgi/log_fmt.h
tests_unit_check_log_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
tests_unit_check_log_LDADD = $(CHECK_LIBS)
endif
# check_metrics: the pool metrics' store, buckets and Prometheus text
# (src/fcgi/metrics.c, pure code; the shared file is metrics_shm.c's).
if HAVE_CHECK
check_PROGRAMS += tests/unit/check_metrics
TESTS += tests/unit/check_metrics
tests_unit_check_metrics_SOURCES = tests/unit/check_metrics.c src/fcgi/metrics.c src/fcgi/metrics.h
tests_unit_check_metrics_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
tests_unit_check_metrics_LDADD = $(CHECK_LIBS)
endif
# check_regw: the RootFS watch that keeps the registry rescan off the
# request path (src/fcgi/reg_watch.c; real inotify on a temporary tree).
if HAVE_CHECK
check_PROGRAMS += tests/unit/check_regw
TESTS += tests/unit/check_regw
tests_unit_check_regw_SOURCES = tests/unit/check_regw.c src/fcgi/reg_watch.c src/fcgi/reg_watch.h
tests_unit_check_regw_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
tests_unit_check_regw_LDADD = $(CHECK_LIBS)
endif
# check_warm_pick: --warm-runtime auto's choice (src/fcgi/warm_pick.c).
if HAVE_CHECK
check_PROGRAMS += tests/unit/check_warm_pick
TESTS += tests/unit/check_warm_pick
tests_unit_check_warm_pick_SOURCES = tests/unit/check_warm_pick.c src/fcgi/warm_pick.c src/fcgi/warm_pick.h
tests_unit_check_warm_pick_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
tests_unit_check_warm_pick_LDADD = $(CHECK_LIBS)
endif

# tests/unit: Check unit tests of src/api and src/common (owner: api).
if HAVE_CHECK
check_PROGRAMS += tests/unit/check_api
TESTS += tests/unit/check_api
tests_unit_check_api_SOURCES = tests/unit/check_api.c tests/unit/api_test.h \
	tests/unit/check_paths.c tests/unit/check_words.c tests/unit/check_utf8.c \
	tests/unit/check_rt.c tests/unit/check_req.c tests/unit/check_bad.c \
	tests/unit/check_resp.c tests/unit/check_mem.c tests/unit/check_common.c \
	tests/unit/check_stream.c
tests_unit_check_api_CFLAGS = $(AM_CFLAGS) $(JANSSON_CFLAGS) $(CHECK_CFLAGS) \
	-DWARM_PY_FILE='"$(abs_top_srcdir)/rootfs/common/overlay/opt/sandbox/shims/warm.py"'
tests_unit_check_api_LDADD = $(API_LIBS) $(CHECK_LIBS)
endif
# check_cfg: sandbox-fcgi's command line (src/fcgi/cfg.c, pure code).
if HAVE_CHECK
check_PROGRAMS += tests/unit/check_cfg
TESTS += tests/unit/check_cfg
tests_unit_check_cfg_SOURCES = tests/unit/check_cfg.c tests/unit/ck_run.h src/fcgi/cfg.c src/fcgi/cfg.h
tests_unit_check_cfg_CFLAGS = $(AM_CFLAGS) $(JANSSON_CFLAGS) $(CHECK_CFLAGS)
tests_unit_check_cfg_LDADD = $(API_LIBS) $(CALLBACK_SUBMIT_LIBS) $(CHECK_LIBS)
endif

# src/callback: delivery of asynchronous runs' results to callback_url
# (src/callback/cb.h): URL and allowlist checks (pure), HMAC-SHA256 signature
# (libcrypto), the durable queue under STATE/callbacks, attempts with libcurl.
# sandbox-callbacks is the deliverer (on the host's network; see cb.h).
# libcbsubmit: what the responders need (the flags, callback_url checks at
# submission, queueing a finished run's callback), without libcurl or
# libcrypto: the responders never connect anywhere.
noinst_LIBRARIES += src/callback/libcbsubmit.a
src_callback_libcbsubmit_a_SOURCES = src/callback/cb.h src/callback/cb_private.h \
	src/callback/cb_url.c src/callback/cb_cfg.c src/callback/cb_store.c
src_callback_libcbsubmit_a_CFLAGS = $(AM_CFLAGS) $(JANSSON_CFLAGS)
CALLBACK_SUBMIT_LIBS = src/callback/libcbsubmit.a $(COMMON_LIBS)
CALLBACK_SOURCES = \
	src/callback/cb.h src/callback/cb_private.h src/callback/cb_sign.c \
	src/callback/cb_http.c src/callback/cb_pump.c
noinst_LIBRARIES += src/callback/libcallback.a
src_callback_libcallback_a_SOURCES = $(CALLBACK_SOURCES)
src_callback_libcallback_a_CFLAGS = $(AM_CFLAGS) $(JANSSON_CFLAGS) $(CURL_CFLAGS) $(CRYPTO_CFLAGS)
CALLBACK_LIBS = src/callback/libcallback.a $(CALLBACK_SUBMIT_LIBS) $(JANSSON_LIBS) $(CURL_LIBS) \
	$(CRYPTO_LIBS)

# sbin: a daemon the administrator starts, section 8 like sandbox-fcgi.
sbin_PROGRAMS += src/callback/sandbox-callbacks
src_callback_sandbox_callbacks_SOURCES = src/callback/sandbox-callbacks.c \
	src/fcgi/log.h src/fcgi/log.c src/fcgi/log_fmt.h src/fcgi/log_fmt.c
src_callback_sandbox_callbacks_CFLAGS = $(AM_CFLAGS) $(JANSSON_CFLAGS)
src_callback_sandbox_callbacks_LDADD = $(CALLBACK_LIBS)

# check_callback: unit tests (RFC 4231 vectors, hostile URLs, backoff, the
# store); cb_tool: enqueue / check-url for tests/integration/test_callbacks.py.
if HAVE_CHECK
check_PROGRAMS += tests/unit/check_callback
TESTS += tests/unit/check_callback
tests_unit_check_callback_SOURCES = tests/unit/check_callback.c tests/unit/ck_run.h
tests_unit_check_callback_CFLAGS = $(AM_CFLAGS) $(JANSSON_CFLAGS) $(CHECK_CFLAGS)
tests_unit_check_callback_LDADD = $(CALLBACK_LIBS) $(CHECK_LIBS)
endif
check_PROGRAMS += tests/callback/cb_tool
tests_callback_cb_tool_SOURCES = tests/callback/cb_tool.c
tests_callback_cb_tool_CFLAGS = $(AM_CFLAGS) $(JANSSON_CFLAGS)
tests_callback_cb_tool_LDADD = $(CALLBACK_LIBS)

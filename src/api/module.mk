# src/api: request parsing/validation, runtime registry, response JSON.
# Pure code over jansson and src/common (no jail, no FastCGI), so unit tests
# and the fuzzer link it alone. API_SOURCES is reused by tests/fuzz (built with its own
# sanitizer flags).
API_SOURCES = \
	src/api/rt.h src/api/req.h src/api/resp.h \
	src/api/req_private.h src/api/resp_private.h src/api/api_load.h src/api/rt_private.h \
	src/api/rt.c src/api/rt_load.c src/api/rt_json.c \
	src/api/req_parse.c src/api/req_session.c src/api/req_files.c src/api/req_cmd.c \
	src/api/req_paths.c src/api/req_words.c src/api/req_spec.c src/api/req_util.c src/api/req_compat.c \
	src/api/req_scan.c src/api/api_mem.c src/api/warm.h src/api/warm.c \
	src/api/resp.c src/api/resp_write.c src/api/resp_isolation.c \
	src/api/resp_stream.h src/api/resp_stream.c
# Generated: the Python warm bootstrap (src/api/warm.h), one source with the
# RootFS file it is byte-compiled from.
API_GEN_SOURCES = src/api/warm_boot.c
noinst_LIBRARIES += src/api/libapi.a
src_api_libapi_a_SOURCES = $(API_SOURCES)
nodist_src_api_libapi_a_SOURCES = $(API_GEN_SOURCES)
CLEANFILES += $(API_GEN_SOURCES)
WARM_PY = $(top_srcdir)/rootfs/common/overlay/opt/sandbox/shims/warm.py
WARM_FORK_PY = $(top_srcdir)/src/api/warm_fork.py
WARM_EXIT_PY = $(top_srcdir)/src/api/warm_exit.py
EXTRA_DIST += src/api/warm_fork.py src/api/warm_exit.py

# Bytes as a C array (od + sed, as src/fcgi/openapi_doc.c), NUL-terminated;
# the zygote's text is warm_fork.py, warm.py, warm_exit.py (src/jail/zygote.c).
src/api/warm_boot.c: $(WARM_PY) $(WARM_FORK_PY) $(WARM_EXIT_PY)
	$(AM_V_GEN)$(MKDIR_P) src/api && { \
	  echo '/* generated from rootfs/common/overlay/opt/sandbox/shims/warm.py by src/api/module.mk */'; \
	  echo '#include "api/warm.h"'; \
	  echo 'const char req_warm_python_boot[] = {'; \
	  od -An -v -tx1 $(WARM_PY) | sed 's/ *\([0-9a-f][0-9a-f]\)/0x\1,/g'; \
	  echo '0 };'; \
	  echo 'const char req_warm_python_fork_boot[] = {'; \
	  cat $(WARM_FORK_PY) $(WARM_PY) $(WARM_EXIT_PY) | od -An -v -tx1 | sed 's/ *\([0-9a-f][0-9a-f]\)/0x\1,/g'; \
	  echo '0 };'; \
	} > $@.tmp && mv $@.tmp $@
src_api_libapi_a_CFLAGS = $(AM_CFLAGS) $(JANSSON_CFLAGS)
API_LIBS = src/api/libapi.a $(COMMON_LIBS) $(JANSSON_LIBS)

# src/fcgi: the sandbox-fcgi responder (FCGX_* API).
# sbin: a daemon the administrator starts (through spawn-fcgi or systemd),
# documented in section 8 (docs/OPERATIONS.md, "Installing").
sbin_PROGRAMS += src/fcgi/sandbox-fcgi
src_fcgi_sandbox_fcgi_SOURCES = \
	src/fcgi/cfg.h src/fcgi/cfg.c src/fcgi/route.h src/fcgi/route.c \
	src/fcgi/log.h src/fcgi/log.c src/fcgi/log_fmt.h src/fcgi/log_fmt.c \
	src/fcgi/http_util.h src/fcgi/http_util.c \
	src/fcgi/http.h src/fcgi/http.c \
	src/fcgi/svc.h src/fcgi/reg_watch.h src/fcgi/reg_watch.c src/fcgi/dispatch.c src/fcgi/run.c src/fcgi/meta.c \
	src/fcgi/stream.h src/fcgi/stream.c src/fcgi/runs.c src/fcgi/async_exec.c \
	src/fcgi/mem.h src/fcgi/mem.c src/fcgi/main.c \
	src/fcgi/metrics.h src/fcgi/metrics.c src/fcgi/metrics_shm.h src/fcgi/metrics_shm.c \
	src/fcgi/metrics_http.c \
	src/fcgi/ses_json.h src/fcgi/ses_http.c src/fcgi/ses_files.c src/fcgi/ses_run.c \
	src/fcgi/ses_admin.c src/fcgi/warm_pick.h src/fcgi/warm_pick.c
nodist_src_fcgi_sandbox_fcgi_SOURCES = src/fcgi/openapi_doc.c
EXTRA_src_fcgi_sandbox_fcgi_SOURCES = src/fcgi/openapi.h
CLEANFILES += src/fcgi/openapi_doc.c

# GET /api/sandbox/openapi.json answers docs/openapi.json as built in: the
# binary describes its own API wherever it is installed. Bytes as a C array
# (od + sed: no xxd in the build dependencies), NUL-terminated.
src/fcgi/openapi_doc.c: $(top_srcdir)/docs/openapi.json
	$(AM_V_GEN)$(MKDIR_P) src/fcgi && { \
	  echo '/* generated from docs/openapi.json by src/fcgi/module.mk */'; \
	  echo '#include "fcgi/openapi.h"'; \
	  echo 'const unsigned char openapi_doc[] = {'; \
	  od -An -v -tx1 $(top_srcdir)/docs/openapi.json | sed 's/ *\([0-9a-f][0-9a-f]\)/0x\1,/g'; \
	  echo '0 };'; \
	  echo 'const size_t openapi_doc_len = sizeof openapi_doc - 1;'; \
	} > $@.tmp && mv $@.tmp $@
src_fcgi_sandbox_fcgi_CFLAGS = $(AM_CFLAGS) $(JANSSON_CFLAGS) $(FCGI_CFLAGS)
src_fcgi_sandbox_fcgi_LDADD = $(ASYNC_LIBS) $(API_LIBS) $(SESSION_LIBS) $(CALLBACK_SUBMIT_LIBS) \
	$(JAIL_LIBS) $(FCGI_LIBS)

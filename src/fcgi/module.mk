# src/fcgi: the sandbox-fcgi responder (FCGX_* API).
# sbin: a daemon the administrator starts (through spawn-fcgi or systemd),
# documented in section 8 (docs/OPERATIONS.md, "Installing").
sbin_PROGRAMS += src/fcgi/sandbox-fcgi
src_fcgi_sandbox_fcgi_SOURCES = \
	src/fcgi/cfg.h src/fcgi/cfg.c src/fcgi/route.h src/fcgi/route.c \
	src/fcgi/log.h src/fcgi/log.c src/fcgi/http_util.h src/fcgi/http_util.c \
	src/fcgi/http.h src/fcgi/http.c \
	src/fcgi/svc.h src/fcgi/dispatch.c src/fcgi/run.c src/fcgi/meta.c \
	src/fcgi/mem.h src/fcgi/mem.c src/fcgi/main.c
src_fcgi_sandbox_fcgi_CFLAGS = $(AM_CFLAGS) $(JANSSON_CFLAGS) $(FCGI_CFLAGS)
src_fcgi_sandbox_fcgi_LDADD = $(API_LIBS) $(JAIL_LIBS) $(FCGI_LIBS)

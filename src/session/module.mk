# src/session: persistent session workspaces on the host (docs/SESSIONS.md):
# ids, safe paths beneath a workspace, atomic writes under a quota, listing,
# the session store and its expiry sweep. System calls on the workspace and
# jansson; no jail, no FastCGI, so the unit tests link it alone.
SESSION_SOURCES = \
	src/session/session.h src/session/ses_private.h \
	src/session/path.c src/session/files.c src/session/list.c \
	src/session/store.c src/session/reap.c src/session/copy.c
noinst_LIBRARIES += src/session/libsession.a
src_session_libsession_a_SOURCES = $(SESSION_SOURCES)
src_session_libsession_a_CFLAGS = $(AM_CFLAGS) $(JANSSON_CFLAGS)
SESSION_LIBS = src/session/libsession.a $(JANSSON_LIBS)

# check_session: the module's unit tests, attacks included (owner: session).
if HAVE_CHECK
check_PROGRAMS += tests/unit/check_session
TESTS += tests/unit/check_session
tests_unit_check_session_SOURCES = tests/unit/check_session.c
tests_unit_check_session_CFLAGS = $(AM_CFLAGS) $(JANSSON_CFLAGS) $(CHECK_CFLAGS)
tests_unit_check_session_LDADD = $(SESSION_LIBS) $(CHECK_LIBS)
endif

# src/cli: sandbox-run, one job in the jail from the command line.
bin_PROGRAMS += src/cli/sandbox-run
src_cli_sandbox_run_SOURCES = src/cli/sandbox-run.c
src_cli_sandbox_run_CFLAGS = $(AM_CFLAGS) $(JANSSON_CFLAGS)
src_cli_sandbox_run_LDADD = $(API_LIBS) $(JAIL_LIBS) $(SESSION_LIBS)

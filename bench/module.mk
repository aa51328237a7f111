# bench: benchmark programs (not installed, not run by make check).
noinst_PROGRAMS += bench/launch
bench_launch_SOURCES = bench/launch.c
bench_launch_LDADD = $(JAIL_LIBS)

# src/jail: the jail library (namespaces, mounts, credentials, seccomp,
# cgroups, rlimits, supervision, cleanup).
noinst_LIBRARIES += src/jail/libjail.a
src_jail_libjail_a_SOURCES = \
	src/jail/jail.h src/jail/jail_private.h src/jail/rawsys.h src/jail/init.h \
	src/jail/jail.c src/jail/ctx.c src/jail/ns.c src/jail/mount.c \
	src/jail/creds.c src/jail/seccomp.c src/jail/cg_detect.c src/jail/cg_run.c \
	src/jail/limits.c src/jail/init.c src/jail/launch.c src/jail/supervise.c \
	src/jail/workdir.c src/jail/util.c src/jail/quota.c src/jail/zygote.c \
	src/jail/cpus.c
src_jail_libjail_a_CFLAGS = $(AM_CFLAGS) $(SECCOMP_CFLAGS) $(LIBCAP_CFLAGS)
JAIL_LIBS = src/jail/libjail.a $(SECCOMP_LIBS) $(LIBCAP_LIBS)

/*
 * limits.c - rlimits of the program.  They back up the cgroup limits and are
 * the only limits when no cgroup hierarchy can be used (docs/SECURITY.md
 * says which is which; the /info endpoint reports what is in effect).
 */
#include "jail/jail_private.h"

#include <errno.h>
#include <sys/resource.h>

/* The process whose limits are set: 0 is the caller (the program sets its
 * own), else a warm interpreter that pid 1 lowers (lim_apply_pid).  Only
 * one process applies limits at a time. */
static pid_t lim_target;

static int lim_set(int res, rlim_t soft, rlim_t hard, const char *name, struct jail_error *e)
{
	struct rlimit r = { .rlim_cur = soft, .rlim_max = hard };
	if (prlimit(lim_target, (__rlimit_resource_t)res, &r, NULL) < 0)
		return util_fail(e, "setrlimit", errno, "%s", name);
	return 0;
}

int lim_apply_pid(pid_t pid, const struct jail_limits *l, bool have_memcg, bool pid1_same_uid,
                  struct jail_error *e)
{
	lim_target = pid;
	int rc = lim_apply(l, have_memcg, pid1_same_uid, e);
	lim_target = 0;
	return rc;
}

int lim_apply(const struct jail_limits *l, bool have_memcg, bool pid1_same_uid, struct jail_error *e)
{
	/* Whole seconds, rounded up, plus one: the CPU limit proper is the
	 * cgroup's usage checked by the supervisor (it covers all processes);
	 * RLIMIT_CPU is per process and only a backstop. SIGXCPU at the soft
	 * limit, SIGKILL one second later. */
	uint64_t cpu_ms = l->cpu_time_ms ? l->cpu_time_ms : l->wall_time_ms;
	rlim_t cpu_s = (rlim_t)((cpu_ms + 999) / 1000 + 1);
	if (lim_set(RLIMIT_CPU, cpu_s, cpu_s + 1, "RLIMIT_CPU", e) < 0)
		return -1;
	if (lim_set(RLIMIT_CORE, 0, 0, "RLIMIT_CORE", e) < 0)
		return -1;
	if (l->max_file_bytes &&
	    lim_set(RLIMIT_FSIZE, l->max_file_bytes, l->max_file_bytes, "RLIMIT_FSIZE", e) < 0)
		return -1;
	if (l->max_open_files &&
	    lim_set(RLIMIT_NOFILE, l->max_open_files, l->max_open_files, "RLIMIT_NOFILE", e) < 0)
		return -1;
	/* Since Linux 5.14 RLIMIT_NPROC is counted per (user namespace, host
	 * uid) (kernel/ucount.c), so in the jail's fresh one it counts only
	 * this run's processes; it backs up pids.max of the program's cgroup,
	 * which pid 1 is not in.  An unprivileged caller (the service) maps
	 * the program to its own uid, the uid pid 1 has too: pid 1 is then
	 * counted, and would take one of the program's max_processes. */
	uint64_t nproc = l->max_processes + (pid1_same_uid ? 1 : 0);
	if (l->max_processes && lim_set(RLIMIT_NPROC, nproc, nproc, "RLIMIT_NPROC", e) < 0)
		return -1;
	/* Without a memory cgroup the address-space limit is the only memory
	 * limit: coarse (it counts reservations, not use), but enforced. */
	if (l->memory_bytes && !have_memcg &&
	    lim_set(RLIMIT_AS, l->memory_bytes, l->memory_bytes, "RLIMIT_AS", e) < 0)
		return -1;
	return 0;
}

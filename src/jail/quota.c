/*
 * quota.c - the host user's kernel quotas, shared fairly between runs.
 *
 * Every jail maps its uid 1000 to the same host uid (the service user), and
 * several kernel limits are counted per user: inotify instances and
 * watches, pending signals, POSIX message queue bytes, locked shared
 * memory, namespaces.  Since Linux 5.11/5.14 they are counted per user
 * namespace *and* charged up the chain of parent namespaces
 * (kernel/ucount.c: inc_ucount, inc_rlimit_ucounts): the run's count, in
 * the jail's fresh user namespace, is checked against the jail
 * namespace's own maximum (or the program's rlimit), and the host user's
 * count, which every concurrent run adds to, against the host's.  Left
 * alone, the jail namespace's maximum is INT_MAX, so one run could take
 * the whole host quota and make a concurrent run's inotify_init1() fail
 * with EMFILE.
 *
 * So each run gets a share: the host's limit divided by the number of
 * jails that may run at once under that host uid (jail_config's
 * concurrent_jails: the pool size), written by pid 1 into its user
 * namespace's /proc/sys/user/max_* (it holds CAP_SYS_RESOURCE there; the
 * program, which has no capabilities, can only read them) and set as the
 * program's rlimits.  Namespaces: none may be made inside a jail (seccomp
 * refuses it first; a maximum of 0 is the second barrier), except the one
 * cgroup namespace the program enters itself (init.c).  Keys need no
 * share: keyctl, add_key and request_key are refused by seccomp, and no
 * keyring is made without them.  docs/SECURITY.md, "per-user kernel
 * quotas".
 */
#include "jail/jail_private.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#define QUOTA_DEFAULT_SHARE 16
/* What each responder (the caller of the jail, under the same host uid)
 * keeps for itself before the rest is shared between runs: its RootFS
 * watch (src/fcgi/reg_watch.c) is one inotify instance with a watch per
 * template directory. Counted against the same host-wide maximum as the
 * runs' instances, so without this reserve the last runs would find less
 * than their share. */
#define QUOTA_CALLER_INOTIFY_INSTANCES 2
#define QUOTA_CALLER_INOTIFY_WATCHES 64

/* Host-wide maxima of the initial user namespace (the sysctls under
 * /proc/sys/fs/inotify always show those, whatever namespace we are in). */
static uint64_t quota_host(const char *path, uint64_t fallback)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return fallback;
	char buf[32];
	ssize_t n = read(fd, buf, sizeof buf - 1);
	close(fd);
	if (n <= 0)
		return fallback;
	buf[n] = '\0';
	unsigned long long v;
	return sscanf(buf, "%llu", &v) == 1 ? (uint64_t)v : fallback;
}

/* The soft limit: it is what the kernel copies into a new user namespace
 * as its parent level's maximum (create_user_ns: rlimit()). */
static uint64_t quota_rlimit(int res)
{
	struct rlimit r;
	if (getrlimit(res, &r) < 0 || r.rlim_cur == RLIM_INFINITY)
		return UINT64_MAX;
	return r.rlim_cur;
}

/* total minus each caller's reserve, divided between the runs. */
static uint64_t quota_share(uint64_t total, unsigned share, uint64_t reserve, uint64_t floor)
{
	uint64_t v = UINT64_MAX;
	if (total != UINT64_MAX) {
		uint64_t kept = reserve * share;
		v = total > kept ? (total - kept) / share : 0;
	}
	return v < floor ? floor : v;
}

void quota_compute(struct jail_quota *q, unsigned concurrent)
{
	unsigned share = concurrent ? concurrent : QUOTA_DEFAULT_SHARE;
	q->share = share;
	/* Floors: below these common runtimes fail to start; a host whose
	 * limits are that small for its pool size is misconfigured, and
	 * docs/OPERATIONS.md says which sysctl to raise. */
	q->inotify_instances = quota_share(quota_host("/proc/sys/fs/inotify/max_user_instances", 128),
	                                   share, QUOTA_CALLER_INOTIFY_INSTANCES, 1);
	q->inotify_watches = quota_share(quota_host("/proc/sys/fs/inotify/max_user_watches", 8192),
	                                 share, QUOTA_CALLER_INOTIFY_WATCHES, 64);
	q->sigpending = quota_share(quota_rlimit(RLIMIT_SIGPENDING), share, 0, 16);
	q->msgqueue_bytes = quota_share(quota_rlimit(RLIMIT_MSGQUEUE), share, 0, 0);
	q->memlock_bytes = quota_share(quota_rlimit(RLIMIT_MEMLOCK), share, 0, 0);
	if (q->inotify_instances > INT32_MAX)
		q->inotify_instances = INT32_MAX;
	if (q->inotify_watches > INT32_MAX)
		q->inotify_watches = INT32_MAX;
}

static int quota_write(const char *name, uint64_t value, bool optional, struct jail_error *e)
{
	char path[96], text[24];
	snprintf(path, sizeof path, "/proc/sys/user/%s", name);
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0) {
		/* Older kernels lack some (fanotify: 5.13, time: 5.6). */
		if (optional && errno == ENOENT)
			return 0;
		return util_fail(e, "user namespace quota", errno, "%s", name);
	}
	int len = snprintf(text, sizeof text, "%llu", (unsigned long long)value);
	ssize_t n = write(fd, text, (size_t)len);
	int err = errno;
	close(fd);
	if (n != len)
		return util_fail(e, "user namespace quota", n < 0 ? err : EIO, "%s", name);
	return 0;
}

/* In pid 1, after its /proc is mounted: the maxima of the jail's user
 * namespace, for every process of the run together. */
int quota_apply_userns(const struct jail_quota *q, struct jail_error *e)
{
	static const char *const no_ns[] = {
		"max_user_namespaces", "max_pid_namespaces", "max_net_namespaces",
		"max_mnt_namespaces", "max_ipc_namespaces", "max_uts_namespaces",
	};
	for (size_t i = 0; i < sizeof no_ns / sizeof no_ns[0]; i++)
		if (quota_write(no_ns[i], 0, false, e) < 0)
			return -1;
	/* The program unshares its cgroup namespace itself (init.c), or the
	 * zygote's fork for its interpreter (zygote.c). */
	if (quota_write("max_cgroup_namespaces", 1, false, e) < 0 ||
	    quota_write("max_time_namespaces", 0, true, e) < 0 ||
	    quota_write("max_fanotify_groups", 0, true, e) < 0 ||
	    quota_write("max_fanotify_marks", 0, true, e) < 0 ||
	    quota_write("max_inotify_instances", q->inotify_instances, false, e) < 0 ||
	    quota_write("max_inotify_watches", q->inotify_watches, false, e) < 0)
		return -1;
	return 0;
}

static pid_t quota_target;            /* 0: ourselves; else prlimit's pid */

static int quota_rlim(int res, uint64_t v, const char *name, struct jail_error *e)
{
	if (v == UINT64_MAX)
		return 0;
	struct rlimit r = { .rlim_cur = v, .rlim_max = v };
	if (prlimit(quota_target, (__rlimit_resource_t)res, &r, NULL) < 0)
		return util_fail(e, "setrlimit", errno, "%s", name);
	return 0;
}

/* In the program, with its other rlimits (limits.c).  These are counted
 * per user namespace too, so they bound the whole run, not one process. */
int quota_apply_rlimits(const struct jail_quota *q, struct jail_error *e)
{
	if (quota_rlim(RLIMIT_SIGPENDING, q->sigpending, "RLIMIT_SIGPENDING", e) < 0 ||
	    quota_rlim(RLIMIT_MSGQUEUE, q->msgqueue_bytes, "RLIMIT_MSGQUEUE", e) < 0 ||
	    quota_rlim(RLIMIT_MEMLOCK, q->memlock_bytes, "RLIMIT_MEMLOCK", e) < 0)
		return -1;
	return 0;
}

int quota_apply_rlimits_pid(pid_t pid, const struct jail_quota *q, struct jail_error *e)
{
	quota_target = pid;
	int rc = quota_apply_rlimits(q, e);
	quota_target = 0;
	return rc;
}

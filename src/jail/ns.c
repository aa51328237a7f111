/*
 * ns.c - namespaces.
 *
 * Once per process (ns_enter_process) the caller moves into its own mount and
 * network namespace, plus a user namespace when it is not host root: the
 * network one holds only a loopback interface, so even the caller (which
 * needs nothing but the FastCGI socket it inherited) reaches no network.
 * Every jail then gets new user, mount, pid, net, ipc and uts namespaces
 * from clone() (launch.c) and a cgroup namespace (init.c).
 *
 * A new network namespace per run: one run's sockets, bound ports and
 * TIME_WAIT connections must not be visible to, or block, the next one
 * (a shared one made bind() fail with EADDRINUSE for the next tenant).
 * Its cost (~0.4 ms at the median, 4-5 ms at p99 here,
 * the project's shared/perf-baselines.md) is paid off the request path:
 * the next job's pid 1 is cloned while the responder is idle (jail_idle).  Its loopback
 * is brought up by pid 1, which owns it through the jail's user namespace
 * (ns_loopback_up).
 */
#include "jail/jail_private.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <net/if.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <unistd.h>

#include "jail/rawsys.h"

/* uid/gid are read before unshare(): inside the new namespace, until the
 * maps exist, geteuid() answers the overflow id 65534. */
static int ns_map_self(uid_t uid, gid_t gid, struct jail_error *e)
{
	char map[64];
	/* Order matters: an unprivileged process may write gid_map only after
	 * setgroups is denied (user_namespaces(7), CVE-2014-8989). */
	if (file_write_str("/proc/self/setgroups", "deny", e, "userns setgroups") < 0)
		return -1;
	snprintf(map, sizeof map, "0 %u 1", (unsigned)uid);
	if (file_write_str("/proc/self/uid_map", map, e, "userns uid_map") < 0)
		return -1;
	snprintf(map, sizeof map, "0 %u 1", (unsigned)gid);
	return file_write_str("/proc/self/gid_map", map, e, "userns gid_map");
}

int ns_loopback_up(struct jail_error *e)
{
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (s < 0)
		return util_fail(e, "netns loopback", errno, "socket");
	struct ifreq ifr;
	memset(&ifr, 0, sizeof ifr);
	snprintf(ifr.ifr_name, sizeof ifr.ifr_name, "lo");
	int rc = ioctl(s, SIOCGIFFLAGS, &ifr);
	if (rc == 0) {
		ifr.ifr_flags |= IFF_UP | IFF_RUNNING;
		rc = ioctl(s, SIOCSIFFLAGS, &ifr);
	}
	int err = errno;
	close(s);
	return rc < 0 ? util_fail(e, "netns loopback", err, "bring lo up") : 0;
}

/* Every run's network namespace gets its own small TCP socket hash table
 * instead of sharing the host's (net.ipv4.tcp_child_ehash_entries, Linux
 * 6.1; it is read from the namespace that creates the child, which is this
 * one, so the host's setting is left alone).  Why: when a namespace that
 * shares the host's table dies, the kernel walks the whole host table for
 * its TIME_WAIT sockets (tcp_twsk_purge -> inet_twsk_purge; 262144 buckets
 * on a 24 GiB machine): perf put that walk at a quarter of the teardown's
 * CPU at saturation (docs/PERFORMANCE.md).  With its own table, only that
 * is freed.  A run's sockets hash into NS_CHILD_TCP_EHASH buckets: a run
 * with thousands of connections has longer chains, in its own namespace
 * only.  Best effort: an older kernel (no such file) shares the host's
 * table as before. */
#define NS_CHILD_TCP_EHASH "256"

static void ns_child_tcp_hash(void)
{
	struct jail_error ignored;
	(void)file_write_str("/proc/sys/net/ipv4/tcp_child_ehash_entries", NS_CHILD_TCP_EHASH,
	                     &ignored, "tcp child hash");
}

int ns_enter_process(bool as_root, struct jail_error *e)
{
	int flags = CLONE_NEWNS | CLONE_NEWNET;
	uid_t uid = geteuid();
	gid_t gid = getegid();
	if (as_root) {
		/* Supplementary groups survive into a user namespace whose
		 * setgroups is denied and still count on host files; host root's
		 * groups must not reach the jail, so drop them here, before any
		 * jail is cloned. */
		if (setgroups(0, NULL) < 0)
			return util_fail(e, "drop supplementary groups", errno, NULL);
	} else {
		flags |= CLONE_NEWUSER;
	}
	if (unshare(flags) < 0) {
		int err = errno;
		return util_fail(e, "unshare user/mount/net namespaces", err,
		                 "%s", err == EPERM || err == ENOSPC || err == EACCES ?
		                 "user namespaces are disabled for this user: check "
		                 "user.max_user_namespaces, kernel.unprivileged_userns_clone, "
		                 "or AppArmor's kernel.apparmor_restrict_unprivileged_userns "
		                 "(docs/SECURITY.md)" : "");
	}
	if (!as_root && ns_map_self(uid, gid, e) < 0)
		return -1;
	/* Our mounts must never propagate back to the host's namespace. */
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
		return util_fail(e, "make mounts private", errno, NULL);
	ns_child_tcp_hash();
	return ns_loopback_up(e);
}

/* Small decimal formatter: no libc allowed here (rawsys.h). */
static char *fmt_pid(char *p, pid_t pid)
{
	char tmp[16];
	int n = 0;
	do {
		tmp[n++] = (char)('0' + pid % 10);
		pid /= 10;
	} while (pid > 0);
	while (n > 0)
		*p++ = tmp[--n];
	return p;
}

static long write_proc_file(pid_t pid, const char *leaf, const char *data)
{
	char path[64] = "/proc/";
	char *p = fmt_pid(path + 6, pid);
	*p++ = '/';
	for (const char *s = leaf; *s && p < path + sizeof path - 1; )
		*p++ = *s++;
	*p = '\0';
	long fd = raw_openat(AT_FDCWD, path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return fd;
	unsigned long len = 0;
	while (data[len])
		len++;
	long n = raw_write((int)fd, data, len);
	raw_close((int)fd);
	if (n < 0)
		return n;
	return n == (long)len ? 0 : -EIO;
}

long ns_write_child_maps(pid_t pid, const char *uid_map, const char *gid_map)
{
	long rc = write_proc_file(pid, "setgroups", "deny");
	if (rc == 0)
		rc = write_proc_file(pid, "uid_map", uid_map);
	if (rc == 0)
		rc = write_proc_file(pid, "gid_map", gid_map);
	return rc;
}

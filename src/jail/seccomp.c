/*
 * seccomp.c - the system call filter, compiled once per process with
 * libseccomp and loaded by each program as its last step before execve.
 *
 * Policy "deny-list-v1" (docs/SECURITY.md explains each entry): default
 * allow, and EPERM for calls that reach kernel attack surface a program
 * never needs or that could undo the jail.  Calls with deliberately bad
 * arguments tell "blocked" (EPERM) from "allowed" (EFAULT, EBADF...), which
 * is how tests/jail probes it.  Non-native ABIs (i386 via int 0x80, x32)
 * kill the process: libseccomp rejects every architecture not added to the
 * filter, x32 included (its syscall numbers carry __X32_SYSCALL_BIT).
 */
#include "jail/jail_private.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/sched.h>
#include <linux/seccomp.h>
#include <seccomp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <unistd.h>

#ifndef CLONE_NEWTIME
#define CLONE_NEWTIME 0x00000080
#endif

/* Blocked outright with EPERM. */
static const char *const sc_denied[] = {
	/* mounting, old and new API: could reshape the jail's filesystem */
	"mount", "umount2", "pivot_root", "chroot", "fsopen", "fsconfig", "fsmount",
	"fspick", "move_mount", "open_tree", "mount_setattr",
	/* namespaces: new ones would regain capabilities; setns could leave */
	"unshare", "setns",
	/* other processes' memory */
	"ptrace", "process_vm_readv", "process_vm_writev", "pidfd_getfd", "kcmp",
	/* kernel keyrings are not namespaced */
	"keyctl", "add_key", "request_key",
	/* large, bug-prone kernel interfaces */
	"bpf", "perf_event_open", "userfaultfd", "io_uring_setup", "io_uring_enter",
	"io_uring_register", "modify_ldt", "uselib",
	/* machine administration */
	"kexec_load", "kexec_file_load", "init_module", "finit_module", "delete_module",
	"reboot", "swapon", "swapoff", "syslog", "acct", "quotactl", "quotactl_fd",
	"vhangup", "settimeofday", "clock_settime", "clock_adjtime", "adjtimex",
	"iopl", "ioperm", "lookup_dcookie", "nfsservctl", "fanotify_init",
	/* file handles bypass path checks (the "shocker" escape) */
	"open_by_handle_at", "name_to_handle_at",
};

static int sc_rule(scmp_filter_ctx ctx, uint32_t action, const char *name,
                   unsigned n, const struct scmp_arg_cmp *cmp, struct jail_error *e)
{
	int nr = seccomp_syscall_resolve_name(name);
	if (nr == __NR_SCMP_ERROR)
		return 0; /* not on this architecture */
	int rc = seccomp_rule_add_array(ctx, action, nr, n, cmp);
	if (rc < 0)
		return jail_fail(e, "seccomp rule", -rc, "%s", name);
	return 0;
}

static int sc_add_rules(scmp_filter_ctx ctx, struct jail_error *e)
{
	for (size_t i = 0; i < sizeof sc_denied / sizeof sc_denied[0]; i++)
		if (sc_rule(ctx, SCMP_ACT_ERRNO(EPERM), sc_denied[i], 0, NULL, e) < 0)
			return -1;
	/* clone3 passes its flags in memory a filter cannot read: ENOSYS makes
	 * glibc fall back to clone, whose flags we can check. */
	if (sc_rule(ctx, SCMP_ACT_ERRNO(ENOSYS), "clone3", 0, NULL, e) < 0)
		return -1;
	static const uint64_t ns_flags[] = { CLONE_NEWNS, CLONE_NEWUSER, CLONE_NEWPID,
		CLONE_NEWNET, CLONE_NEWIPC, CLONE_NEWUTS, CLONE_NEWCGROUP, CLONE_NEWTIME };
	for (size_t i = 0; i < sizeof ns_flags / sizeof ns_flags[0]; i++) {
		struct scmp_arg_cmp c = SCMP_A0_64(SCMP_CMP_MASKED_EQ, ns_flags[i], ns_flags[i]);
		if (sc_rule(ctx, SCMP_ACT_ERRNO(EPERM), "clone", 1, &c, e) < 0)
			return -1;
	}
	/* TIOCSTI/TIOCLINUX push input into a terminal.  Compare only the low 32
	 * bits: the kernel does, so a request with garbage in the high half
	 * would slip past a 64-bit compare (CVE-2019-10063). */
	static const uint64_t ioctls[] = { TIOCSTI, TIOCLINUX };
	for (size_t i = 0; i < sizeof ioctls / sizeof ioctls[0]; i++) {
		/* SCMP_A1_32 is not enough: libseccomp 2.5.4 still compared the
		 * high half (tests/jail caught TIOCSTI|1<<32 getting through). */
		struct scmp_arg_cmp c = SCMP_A1_64(SCMP_CMP_MASKED_EQ, 0xffffffffull, ioctls[i]);
		if (sc_rule(ctx, SCMP_ACT_ERRNO(EPERM), "ioctl", 1, &c, e) < 0)
			return -1;
	}
	/* Socket families no runtime needs: netlink talks to kernel
	 * subsystems, vsock to the hypervisor, packet sockets to raw links. */
	static const uint64_t families[] = { AF_NETLINK, AF_VSOCK, AF_PACKET };
	for (size_t i = 0; i < sizeof families / sizeof families[0]; i++) {
		struct scmp_arg_cmp c = SCMP_A0_32(SCMP_CMP_EQ, families[i]);
		if (sc_rule(ctx, SCMP_ACT_ERRNO(EPERM), "socket", 1, &c, e) < 0)
			return -1;
	}
	return 0;
}

static int sc_export(scmp_filter_ctx ctx, struct jail_seccomp *sc, struct jail_error *e)
{
	int fd = memfd_create("seccomp-bpf", MFD_CLOEXEC);
	if (fd < 0)
		return jail_fail(e, "seccomp export", errno, "memfd_create");
	int rc = seccomp_export_bpf(ctx, fd);
	if (rc < 0) {
		close(fd);
		return jail_fail(e, "seccomp export", -rc, NULL);
	}
	off_t size = lseek(fd, 0, SEEK_END);
	if (size <= 0 || size % (off_t)sizeof(struct sock_filter) ||
	    size / (off_t)sizeof(struct sock_filter) > BPF_MAXINSNS) {
		close(fd);
		return jail_fail(e, "seccomp export", EINVAL, "bad program size %lld", (long long)size);
	}
	sc->insns = malloc((size_t)size);
	if (!sc->insns || pread(fd, sc->insns, (size_t)size, 0) != size) {
		close(fd);
		free(sc->insns);
		sc->insns = NULL;
		return jail_fail(e, "seccomp export", errno ? errno : EIO, "read back");
	}
	close(fd);
	sc->len = (unsigned short)(size / (off_t)sizeof(struct sock_filter));
	return 0;
}

int sc_compile(struct jail_seccomp *sc, struct jail_error *e)
{
	memset(sc, 0, sizeof *sc);
	/* libseccomp probes the kernel with seccomp(2) to learn which actions it
	 * may use; valgrind does not implement that call, and the probe then
	 * refuses KILL_PROCESS. We need Linux >= 5.9 anyway (close_range), far
	 * past level 3 (4.14), so say so instead of probing: a kernel without
	 * KILL_PROCESS would reject the filter at load and the jail fail closed. */
	if (seccomp_api_get() < 3 && seccomp_api_set(3) < 0)
		return jail_fail(e, "seccomp api level", EINVAL, NULL);
	scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ALLOW);
	if (!ctx)
		return jail_fail(e, "seccomp init", ENOMEM, NULL);
	int rc = -1;
	/* The caller sets no_new_privs itself (creds.c), in the order it wants. */
	if (seccomp_attr_set(ctx, SCMP_FLTATR_CTL_NNP, 0) < 0 ||
	    seccomp_attr_set(ctx, SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_KILL_PROCESS) < 0)
		jail_fail(e, "seccomp attributes", EINVAL, NULL);
	else if (sc_add_rules(ctx, e) == 0)
		rc = sc_export(ctx, sc, e);
	seccomp_release(ctx);
	return rc;
}

int sc_load(const struct jail_seccomp *sc)
{
	struct sock_fprog prog = { .len = sc->len, .filter = sc->insns };
	if (prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog, 0, 0) < 0)
		return -errno;
	return 0;
}

void sc_free(struct jail_seccomp *sc)
{
	free(sc->insns);
	sc->insns = NULL;
	sc->len = 0;
}

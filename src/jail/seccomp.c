/*
 * seccomp.c - the system call filter, compiled once per process with
 * libseccomp and loaded by each program as its last step before execve.
 *
 * Policy SC_POLICY_NAME, "deny-list-v2" (docs/SECURITY.md explains each
 * entry): default allow, and an errno for calls that reach kernel attack
 * surface a program never needs or that could undo the jail.  Calls with
 * deliberately bad arguments tell "blocked" (the policy errno) from
 * "allowed" (EFAULT, EBADF...), which is how tests/jail probes it.
 *
 * v2 closes three ways v1 failed open:
 *  - every name in the tables must resolve for the native architecture, or
 *    be declared absent there (sc_absent); anything else stops jail_new
 *    with the name, where v1 skipped it and ran without that rule;
 *  - system calls numbered above SC_NR_LAST, the last one this policy was
 *    reviewed against, get ENOSYS (a prefix in front of libseccomp's
 *    program, sc_prefix): a kernel newer than the policy adds calls
 *    (statmount, listmount, open_tree_attr...) nobody has looked at;
 *  - socket families are allowed by list (AF_UNIX, AF_INET, AF_INET6).
 *
 * Non-native ABIs (i386 via int 0x80, x32) kill the process: libseccomp
 * rejects every architecture not added to the filter, x32 included (its
 * syscall numbers carry __X32_SYSCALL_BIT).
 */
#include "jail/jail_private.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/audit.h>
#include <linux/sched.h>
#include <linux/seccomp.h>
#include <seccomp.h>
#include <stddef.h>
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

/* The last system call this policy was reviewed against (every call up to
 * it is either in a table below or judged harmless: 444-456 are landlock,
 * memfd_secret, process_mrelease, futex_waitv, set_mempolicy_home_node,
 * cachestat, fchmodat2, map_shadow_stack, futex2).  Since Linux 5.1 (424)
 * new calls get the same number on every architecture, so one value serves
 * x86_64 and aarch64.  Checked at start-up: libseccomp must resolve it to
 * this name on the native architecture (2.5.5, or Debian 12's 2.5.4-1+deb12u1
 * which carries the 6.7 table), so a wrong number cannot go unnoticed.
 * Raising it is a policy change: review the calls in between first. */
#define SC_NR_LAST 456
#define SC_NR_LAST_NAME "futex_requeue"

#if defined(__x86_64__)
#define SC_AUDIT_ARCH AUDIT_ARCH_X86_64
#define SC_X32_BIT 0x40000000u     /* __X32_SYSCALL_BIT */
#define SC_PREFIX_LEN 6
#elif defined(__aarch64__)
#define SC_AUDIT_ARCH AUDIT_ARCH_AARCH64
#define SC_PREFIX_LEN 5
#else
#error "seccomp.c: add the architecture's audit token, its absent calls and its prefix"
#endif

/* Why a hand-written prefix: libseccomp matches single syscall numbers and
 * cannot express "every number above N" (a rule per number cannot cover
 * numbers a future kernel adds).  A second filter could, but every filter
 * runs on every system call and each load is a JIT compile (~180 us here,
 * docs/PERFORMANCE.md); a few instructions in front of libseccomp's program
 * cost neither.  The arch check comes first, so a non-native ABI jumps
 * straight to libseccomp's program, which kills it as before; so does a
 * native number with the x32 bit (libseccomp kills those too).  BPF jumps
 * are relative and only forward, so libseccomp's program runs unchanged
 * after it. */
static const struct sock_filter sc_prefix[SC_PREFIX_LEN] = {
	BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
	BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SC_AUDIT_ARCH, 0, SC_PREFIX_LEN - 2),
	BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
#ifdef SC_X32_BIT
	BPF_JUMP(BPF_JMP | BPF_JGE | BPF_K, SC_X32_BIT, 2, 0),
#endif
	BPF_JUMP(BPF_JMP | BPF_JGT | BPF_K, SC_NR_LAST, 0, 1),
	BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | (ENOSYS & SECCOMP_RET_DATA)),
};

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

/* The calls with argument rules in sc_add_rules (kept here so that
 * sc_check_tables covers them too). */
static const char *const sc_filtered[] = { "clone3", "clone", "ioctl", "socket", "socketpair" };

/* Names of the tables that an architecture does not have (libseccomp
 * resolves them to a negative pseudo number there): skipped on that
 * architecture, and only there.  NULL-terminated. */
static const char *const sc_absent_x86_64[] = { NULL };
static const char *const sc_absent_aarch64[] = { "modify_ldt", "uselib", "iopl", "ioperm", NULL };

static const char *const *sc_absent(uint32_t arch)
{
	return arch == SCMP_ARCH_X86_64 ? sc_absent_x86_64
	     : arch == SCMP_ARCH_AARCH64 ? sc_absent_aarch64 : NULL;
}

static bool sc_declared_absent(const char *const *absent, const char *name)
{
	for (; *absent; absent++)
		if (strcmp(*absent, name) == 0)
			return true;
	return false;
}

/* Resolves `name` on `arch`.  *nr < 0 only for a name declared absent
 * there; every other outcome that is not a real number up to SC_NR_LAST
 * fails, naming the call: v1 skipped such a name silently, and the jail
 * then ran without that rule. */
static int sc_resolve(uint32_t arch, const char *name, int *nr, struct jail_error *e)
{
	const char *const *absent = sc_absent(arch);
	if (!absent)
		return util_fail(e, "seccomp policy", EINVAL, "architecture %#x not supported", arch);
	const struct scmp_version *v = seccomp_version();
	*nr = seccomp_syscall_resolve_name_arch(arch, name);
	bool declared = sc_declared_absent(absent, name);
	if (*nr == __NR_SCMP_ERROR)
		return util_fail(e, "seccomp policy", EINVAL, "syscall %s unknown to libseccomp %u.%u.%u",
		                 name, v->major, v->minor, v->micro);
	if (*nr < 0 && !declared)
		return util_fail(e, "seccomp policy", EINVAL,
		                 "syscall %s does not exist on this architecture and is not declared absent",
		                 name);
	if (*nr >= 0 && declared)
		return util_fail(e, "seccomp policy", EINVAL, "syscall %s declared absent but is number %d",
		                 name, *nr);
	if (*nr > SC_NR_LAST)
		return util_fail(e, "seccomp policy", EINVAL,
		                 "syscall %s (%d) is above the reviewed last call %d", name, *nr, SC_NR_LAST);
	return 0;
}

int sc_check_tables(uint32_t arch, struct jail_error *e)
{
	int nr;
	for (size_t i = 0; i < sizeof sc_denied / sizeof sc_denied[0]; i++)
		if (sc_resolve(arch, sc_denied[i], &nr, e) < 0)
			return -1;
	for (size_t i = 0; i < sizeof sc_filtered / sizeof sc_filtered[0]; i++)
		if (sc_resolve(arch, sc_filtered[i], &nr, e) < 0)
			return -1;
	return 0;
}

/* The native architecture must number SC_NR_LAST as we think it does. */
static int sc_check_last(struct jail_error *e)
{
	char *name = seccomp_syscall_resolve_num_arch(SCMP_ARCH_NATIVE, SC_NR_LAST);
	bool ok = name && strcmp(name, SC_NR_LAST_NAME) == 0;
	free(name);
	if (ok)
		return 0;
	const struct scmp_version *v = seccomp_version();
	return util_fail(e, "seccomp policy", EINVAL, "libseccomp %u.%u.%u does not know syscall %d as %s",
	                 v->major, v->minor, v->micro, SC_NR_LAST, SC_NR_LAST_NAME);
}

static int sc_rule(scmp_filter_ctx ctx, uint32_t action, const char *name,
                   unsigned n, const struct scmp_arg_cmp *cmp, struct jail_error *e)
{
	int nr;
	if (sc_resolve(seccomp_arch_native(), name, &nr, e) < 0)
		return -1;
	if (nr < 0)
		return 0;                  /* declared absent on this architecture */
	int rc = seccomp_rule_add_array(ctx, action, nr, n, cmp);
	if (rc < 0)
		return util_fail(e, "seccomp rule", -rc, "%s", name);
	return 0;
}

/* Socket families by list.  A filter cannot say "not in {1, 2, 10}" in one
 * rule (the comparisons of a rule are ANDed, one per argument), so it
 * refuses the complement: every value below the first allowed one, in each
 * gap, and above the last.  64-bit compares: a family with garbage in the
 * high half, which the kernel would truncate to an allowed one, is refused
 * (fail closed).  EAFNOSUPPORT is what a kernel without that family says
 * (net/socket.c, __sock_create), so programs and runtimes already expect
 * and handle it, where EPERM reads as a permission problem. */
static int sc_socket_families(scmp_filter_ctx ctx, const char *call, struct jail_error *e)
{
	static const uint64_t allowed[] = { AF_UNIX, AF_INET, AF_INET6 };  /* ascending */
	uint32_t act = SCMP_ACT_ERRNO(EAFNOSUPPORT);
	uint64_t next = 0;
	for (size_t i = 0; i < sizeof allowed / sizeof allowed[0]; i++) {
		for (uint64_t f = next; f < allowed[i]; f++) {
			struct scmp_arg_cmp c = SCMP_A0_64(SCMP_CMP_EQ, f);
			if (sc_rule(ctx, act, call, 1, &c, e) < 0)
				return -1;
		}
		next = allowed[i] + 1;
	}
	struct scmp_arg_cmp c = SCMP_A0_64(SCMP_CMP_GT, next - 1);
	return sc_rule(ctx, act, call, 1, &c, e);
}

static int sc_add_rules(scmp_filter_ctx ctx, const char *const *extra, struct jail_error *e)
{
	for (size_t i = 0; i < sizeof sc_denied / sizeof sc_denied[0]; i++)
		if (sc_rule(ctx, SCMP_ACT_ERRNO(EPERM), sc_denied[i], 0, NULL, e) < 0)
			return -1;
	for (; extra && *extra; extra++)
		if (sc_rule(ctx, SCMP_ACT_ERRNO(EPERM), *extra, 0, NULL, e) < 0)
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
	/* netlink talks to kernel subsystems, vsock to the hypervisor, packet
	 * sockets to raw links, AF_ALG to the crypto API...: no runtime needs
	 * any family but these three.  socketpair takes a family too. */
	if (sc_socket_families(ctx, "socket", e) < 0 || sc_socket_families(ctx, "socketpair", e) < 0)
		return -1;
	return 0;
}

/* libseccomp's program, read back behind sc_prefix. */
static int sc_export(scmp_filter_ctx ctx, struct sc_filter *sc, struct jail_error *e)
{
	int fd = memfd_create("seccomp-bpf", MFD_CLOEXEC);
	if (fd < 0)
		return util_fail(e, "seccomp export", errno, "memfd_create");
	int rc = seccomp_export_bpf(ctx, fd);
	if (rc < 0) {
		close(fd);
		return util_fail(e, "seccomp export", -rc, NULL);
	}
	off_t size = lseek(fd, 0, SEEK_END);
	if (size <= 0 || size % (off_t)sizeof(struct sock_filter) ||
	    size / (off_t)sizeof(struct sock_filter) > BPF_MAXINSNS - SC_PREFIX_LEN) {
		close(fd);
		return util_fail(e, "seccomp export", EINVAL, "bad program size %lld", (long long)size);
	}
	sc->insns = malloc(sizeof sc_prefix + (size_t)size);
	if (!sc->insns || pread(fd, sc->insns + SC_PREFIX_LEN, (size_t)size, 0) != size) {
		close(fd);
		free(sc->insns);
		sc->insns = NULL;
		return util_fail(e, "seccomp export", errno ? errno : EIO, "read back");
	}
	close(fd);
	memcpy(sc->insns, sc_prefix, sizeof sc_prefix);
	sc->len = (unsigned short)(SC_PREFIX_LEN + size / (off_t)sizeof(struct sock_filter));
	return 0;
}

int sc_compile_extra(struct sc_filter *sc, const char *const *extra, struct jail_error *e)
{
	memset(sc, 0, sizeof *sc);
	/* libseccomp probes the kernel with seccomp(2) to learn which actions it
	 * may use; valgrind does not implement that call, and the probe then
	 * refuses KILL_PROCESS. We need Linux >= 5.9 anyway (close_range), far
	 * past level 3 (4.14), so say so instead of probing: a kernel without
	 * KILL_PROCESS would reject the filter at load and the jail fail closed. */
	if (seccomp_api_get() < 3 && seccomp_api_set(3) < 0)
		return util_fail(e, "seccomp api level", EINVAL, NULL);
	if (sc_check_last(e) < 0)
		return -1;
	scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ALLOW);
	if (!ctx)
		return util_fail(e, "seccomp init", ENOMEM, NULL);
	int rc = -1;
	/* The caller sets no_new_privs itself (creds.c), in the order it wants. */
	if (seccomp_attr_set(ctx, SCMP_FLTATR_CTL_NNP, 0) < 0 ||
	    seccomp_attr_set(ctx, SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_KILL_PROCESS) < 0)
		util_fail(e, "seccomp attributes", EINVAL, NULL);
	else if (sc_add_rules(ctx, extra, e) == 0)
		rc = sc_export(ctx, sc, e);
	seccomp_release(ctx);
	return rc;
}

int sc_compile(struct sc_filter *sc, struct jail_error *e)
{
	return sc_compile_extra(sc, NULL, e);
}

int sc_load(const struct sc_filter *sc)
{
	struct sock_fprog prog = { .len = sc->len, .filter = sc->insns };
	if (prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog, 0, 0) < 0)
		return -errno;
	return 0;
}

void sc_free(struct sc_filter *sc)
{
	free(sc->insns);
	sc->insns = NULL;
	sc->len = 0;
}

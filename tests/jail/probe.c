/*
 * probe - runs inside the jail and tries to break out of it.  Statically
 * linked so it runs on any RootFS.  Each subcommand prints "key value"
 * lines that tests/jail/test_jail.py checks.
 *
 *   syscalls  each filtered call with deliberately bad arguments: an allowed
 *             call fails harmlessly (EFAULT, EBADF, ESRCH, EINVAL...) or
 *             succeeds, a blocked one fails with the policy errno
 *             (bubblewrap's tests/try-syscall.c idea)
 *   abi       a 32-bit int 0x80 call and an x32 call, each in a child:
 *             prints how the child ended
 *   flood MODE  writes to stdout and stderr as fast as it can, forever,
 *             into 1 MiB pipes: MODE vmsplice (zero-copy), splice (from a
 *             memfd), big (1 MiB write()s), byte (1 byte per write()), or
 *             mix (all at once); several processes each
 *   fds       open file descriptors other than 0, 1, 2
 *   zombies   makes orphans that exit, then counts zombies in /proc
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/sched.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#define BAD ((void *)1)   /* an address that is never mapped: EFAULT when read */

static void report(const char *name, long rc)
{
	printf("%s %d\n", name, rc < 0 ? errno : 0);
}

#define TRY(name, call) do { errno = 0; long rc_ = (long)(call); report(name, rc_); } while (0)

static int child_clone(void *arg)
{
	(void)arg;
	return 0;
}

/* Families outside the list (AF_UNIX, AF_INET, AF_INET6): a kernel that has
 * the family answers 0 or its own errno, the filter EAFNOSUPPORT. */
static void probe_sockets(void)
{
	static const struct { const char *name; long family; int type; } refused[] = {
		{ "socket_unspec", AF_UNSPEC, SOCK_STREAM }, { "socket_ax25", AF_AX25, SOCK_SEQPACKET },
		{ "socket_netlink", AF_NETLINK, SOCK_RAW }, { "socket_packet", AF_PACKET, SOCK_RAW },
		{ "socket_key", AF_KEY, SOCK_RAW }, { "socket_rds", AF_RDS, SOCK_SEQPACKET },
		{ "socket_can", AF_CAN, SOCK_RAW }, { "socket_tipc", AF_TIPC, SOCK_RDM },
		{ "socket_bluetooth", AF_BLUETOOTH, SOCK_RAW }, { "socket_alg", AF_ALG, SOCK_SEQPACKET },
		{ "socket_vsock", AF_VSOCK, SOCK_STREAM }, { "socket_xdp", 44, SOCK_RAW },
		{ "socket_family_255", 255, SOCK_STREAM }, { "socket_family_negative", -1, SOCK_STREAM },
		/* AF_INET to a kernel that truncates to int, not to a 64-bit compare */
		{ "socket_inet_hibits", AF_INET | (1L << 32), SOCK_STREAM },
	};
	for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++)
		TRY(refused[i].name, syscall(SYS_socket, refused[i].family, refused[i].type, 0));
	int sv[2];
	TRY("socketpair_netlink", syscall(SYS_socketpair, AF_NETLINK, SOCK_RAW, 0, sv));
	TRY("socketpair_alg", syscall(SYS_socketpair, AF_ALG, SOCK_SEQPACKET, 0, sv));
	TRY("socket_unix_control", socket(AF_UNIX, SOCK_STREAM, 0));      /* 0: allowed */
	TRY("socket_inet_control", socket(AF_INET, SOCK_STREAM, 0));
	TRY("socket_inet6_control", socket(AF_INET6, SOCK_DGRAM, 0));
	TRY("socketpair_unix_control", socketpair(AF_UNIX, SOCK_STREAM, 0, sv));
}

/* By number: calls newer than the policy's last reviewed one (456 on
 * every architecture the project supports) and numbers no kernel has get
 * ENOSYS from the filter; calls up to it still reach the kernel, which
 * answers EBADF/EFAULT/EINVAL to these arguments. */
static void probe_numbers(void)
{
	TRY("nr_statmount", syscall(457, BAD, BAD, 0, 0));           /* EFAULT if it reaches 6.8+ */
	TRY("nr_listmount", syscall(458, BAD, BAD, 0, 0));
	TRY("nr_open_tree_attr", syscall(467, -1, BAD, 0, BAD, 0));  /* 6.15+ */
	TRY("nr_470", syscall(470, 0, 0, 0, 0, 0, 0));
	TRY("nr_500", syscall(500, 0, 0, 0, 0, 0, 0));
	TRY("nr_1000", syscall(1000, 0, 0, 0, 0, 0, 0));
	TRY("nr_top_native", syscall(0x3fffffffL, 0, 0, 0, 0, 0, 0));
	TRY("nr_cachestat", syscall(451, -1, BAD, BAD, 0));          /* EBADF: allowed */
	TRY("nr_fchmodat2", syscall(452, AT_FDCWD, BAD, 0, 0));      /* EFAULT */
	TRY("nr_futex_requeue", syscall(456, BAD, 0, 1, 1));         /* the last reviewed one */
	TRY("nr_getppid_control", syscall(SYS_getppid) > 0 ? 0 : -1);
}

static void probe_syscalls(void)
{
	static char stack[16384];
	TRY("control_read", read(-1, NULL, 0));                          /* EBADF */
	TRY("mount", syscall(SYS_mount, BAD, BAD, BAD, 0, NULL));         /* EFAULT if allowed */
	TRY("umount2", syscall(SYS_umount2, BAD, 0));                     /* EFAULT if allowed */
	TRY("chroot", syscall(SYS_chroot, BAD));                          /* EFAULT if allowed */
	TRY("pivot_root", syscall(SYS_pivot_root, BAD, BAD));
	TRY("open_tree", syscall(SYS_open_tree, -1, BAD, 0));             /* EFAULT/EBADF if allowed */
	TRY("fsopen", syscall(SYS_fsopen, BAD, 0));
	TRY("move_mount", syscall(SYS_move_mount, -1, BAD, -1, BAD, 0));
	TRY("unshare", syscall(SYS_unshare, 0));                          /* 0 if allowed */
	TRY("unshare_user", syscall(SYS_unshare, CLONE_NEWUSER));         /* 0 if allowed */
	TRY("setns", syscall(SYS_setns, -1, 0));                          /* EBADF if allowed */
	TRY("clone_newuser", clone(child_clone, stack + sizeof stack, CLONE_NEWUSER | SIGCHLD, NULL));
	TRY("clone3", syscall(SYS_clone3, NULL, 0));                      /* EFAULT/EINVAL if allowed */
	TRY("ptrace", ptrace(PTRACE_PEEKDATA, 0, NULL, NULL));            /* ESRCH if allowed */
	TRY("process_vm_readv", syscall(SYS_process_vm_readv, 0, NULL, 0, NULL, 0, 0));
	TRY("keyctl", syscall(SYS_keyctl, -1, 0, 0, 0, 0));               /* EOPNOTSUPP if allowed */
	TRY("add_key", syscall(SYS_add_key, BAD, BAD, NULL, 0, 0));       /* EFAULT if allowed */
	TRY("request_key", syscall(SYS_request_key, BAD, BAD, NULL, 0));
	TRY("bpf", syscall(SYS_bpf, -1, NULL, 0));
	TRY("perf_event_open", syscall(SYS_perf_event_open, BAD, 0, -1, -1, 0)); /* EFAULT if allowed */
	TRY("userfaultfd", syscall(SYS_userfaultfd, -1));                 /* EINVAL if allowed */
	TRY("io_uring_setup", syscall(SYS_io_uring_setup, 1, BAD));       /* EFAULT if allowed */
	TRY("kexec_load", syscall(SYS_kexec_load, 0, 0, NULL, 0));
	TRY("init_module", syscall(SYS_init_module, BAD, 0, BAD));
	TRY("reboot", syscall(SYS_reboot, 0, 0, 0, NULL));
	TRY("swapon", syscall(SYS_swapon, BAD, 0));
	TRY("syslog", syscall(SYS_syslog, 3, BAD, 16));
	TRY("acct", syscall(SYS_acct, BAD));
	TRY("open_by_handle_at", syscall(SYS_open_by_handle_at, -1, BAD, 0));
	TRY("name_to_handle_at", syscall(SYS_name_to_handle_at, AT_FDCWD, BAD, BAD, BAD, 0));
	/* stdin is a pipe: an allowed TIOCSTI gets ENOTTY. */
	TRY("ioctl_tiocsti", syscall(SYS_ioctl, 0, TIOCSTI, BAD));
	TRY("ioctl_tiocsti_hibits", syscall(SYS_ioctl, 0, (unsigned long)TIOCSTI | (1UL << 32), BAD));
	TRY("ioctl_tioclinux", syscall(SYS_ioctl, 0, TIOCLINUX, BAD));
	TRY("ioctl_control", syscall(SYS_ioctl, 0, TIOCGWINSZ, BAD));     /* ENOTTY: allowed */
	probe_sockets();
	probe_numbers();
}

/* One writer, forever: `how` is 'v' (vmsplice: the pipe takes references
 * to our pages, no copy, so it fills faster than any reader can copy out),
 * 's' (splice from a memfd), 'b' (1 MiB writes) or '1' (1 byte per write). */
static void flood_writer(int fd, char how, int mfd)
{
	static char buf[1 << 20];
	memset(buf, 'x', sizeof buf);
	for (;;) {
		if (how == 'v') {
			struct iovec iov = { buf, sizeof buf };
			if (vmsplice(fd, &iov, 1, 0) < 0)
				(void)!write(fd, buf, sizeof buf);
		} else if (how == 's') {
			loff_t off = 0;
			if (splice(mfd, &off, fd, NULL, sizeof buf, 0) < 0)
				(void)!write(fd, buf, sizeof buf);
		} else {
			(void)!write(fd, buf, how == 'b' ? sizeof buf : 1);
		}
	}
}

static void probe_flood(const char *mode)
{
	static const struct { const char *mode; const char *writers; } modes[] = {
		{ "vmsplice", "vvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvv" }, { "splice", "ssss" }, { "big", "bbbb" }, { "byte", "1111" },
		{ "mix", "vvvvvvvvssbb1" },
	};
	const char *w = NULL;
	for (size_t i = 0; i < sizeof modes / sizeof modes[0]; i++)
		if (!strcmp(mode, modes[i].mode))
			w = modes[i].writers;
	if (!w) {
		fprintf(stderr, "flood: vmsplice|splice|big|byte|mix\n");
		exit(2);
	}
	/* The largest pipes an unprivileged program may ask for: the more a
	 * pipe holds, the less often a reader finds it empty. */
	fcntl(1, F_SETPIPE_SZ, 1 << 20);
	fcntl(2, F_SETPIPE_SZ, 1 << 20);
	int mfd = memfd_create("flood", 0);
	static char page[1 << 20];
	memset(page, 'y', sizeof page);
	if (mfd < 0 || write(mfd, page, sizeof page) != (ssize_t)sizeof page)
		mfd = -1;
	for (size_t i = 0; w[i]; i++)
		if (fork() == 0)
			flood_writer(i % 2 ? 2 : 1, w[i], mfd);
	flood_writer(1, w[0], mfd);
}

static const char *how_ended(pid_t pid)
{
	static char buf[64];
	int st;
	if (waitpid(pid, &st, 0) < 0)
		return "wait-failed";
	if (WIFSIGNALED(st))
		snprintf(buf, sizeof buf, "signal %d", WTERMSIG(st));
	else
		snprintf(buf, sizeof buf, "exit %d", WEXITSTATUS(st));
	return buf;
}

static void probe_abi(void)
{
	pid_t p = fork();
	if (p == 0) {
		long ret;
		/* getpid in the i386 table is 20 */
		__asm__ volatile("int $0x80" : "=a"(ret) : "a"(20) : "memory");
		_exit(ret > 0 ? 0 : 1);
	}
	printf("int80 %s\n", how_ended(p));
	fflush(stdout);
	p = fork();
	if (p == 0) {
		long r = syscall(0x40000000 | SYS_getpid);
		_exit(r > 0 ? 0 : 1);
	}
	printf("x32 %s\n", how_ended(p));
}

static void probe_fds(void)
{
	int n = 0;
	for (int fd = 3; fd < 4096; fd++)
		if (fcntl(fd, F_GETFD) >= 0) {
			printf("open_fd %d\n", fd);
			n++;
		}
	printf("extra_fds %d\n", n);
}

static void probe_zombies(void)
{
	for (int i = 0; i < 5; i++) {
		pid_t p = fork();
		if (p == 0) {
			if (fork() == 0)
				_exit(0);    /* the orphan: reparented to pid 1, must be reaped */
			_exit(0);
		}
		waitpid(p, NULL, 0);
	}
	usleep(300 * 1000);
	int z = 0;
	DIR *d = opendir("/proc");
	struct dirent *de;
	while (d && (de = readdir(d))) {
		char path[300], line[256];
		snprintf(path, sizeof path, "/proc/%s/status", de->d_name);
		FILE *f = fopen(path, "r");
		if (!f)
			continue;
		while (fgets(line, sizeof line, f))
			if (strncmp(line, "State:", 6) == 0 && strchr(line, 'Z'))
				z++;
		fclose(f);
	}
	if (d)
		closedir(d);
	printf("zombies %d\n", z);
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	const char *cmd = argc > 1 ? argv[1] : "";
	if (!strcmp(cmd, "syscalls"))
		probe_syscalls();
	else if (!strcmp(cmd, "abi"))
		probe_abi();
	else if (!strcmp(cmd, "flood") && argc > 2)
		probe_flood(argv[2]);
	else if (!strcmp(cmd, "fds"))
		probe_fds();
	else if (!strcmp(cmd, "zombies"))
		probe_zombies();
	else {
		fprintf(stderr, "usage: probe syscalls|abi|flood MODE|fds|zombies\n");
		return 2;
	}
	return 0;
}

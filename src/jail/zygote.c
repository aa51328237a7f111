/*
 * zygote.c - warm python interpreters made by fork instead of by start-up.
 *
 * A python start-up is some 20 ms of CPU here, nearly all page faults
 * (docs/PERFORMANCE.md); when every CPU is busy a warm interpreter started
 * between runs costs exactly as much as a cold one.  The zygote is one
 * python per responder (`python3 -`, its text on stdin), started once per
 * template tree, that forks a warm
 * interpreter into each prepared jail instead: its text is src/api/
 * warm_fork.py (what it does per interpreter, and why the result is the
 * program a cold run starts) followed by warm.py.
 *
 * Why it may join a jail without any capability: a jail's user namespace
 * is created by the responder, so its owner is the responder's effective
 * uid, and a process of that euid in the parent namespace has every
 * capability in it (user_namespaces(7), "a process that resides in the
 * parent user namespace and whose effective user ID matches the owner of
 * the namespace has all capabilities in the namespace").  The zygote keeps
 * that uid (0 of the responder's own user namespace when it runs as the
 * service user, host 0 as root) and drops the rest: the bounding set,
 * every capability, securebits locked with "no root magic", no_new_privs;
 * its root is the template's tree, read-only, in its own mount, net and
 * ipc namespaces; nothing of a job ever reaches its memory.
 *
 * Fail closed: every step of its forks reports "fail STEP ERRNO", and the
 * caller discards the jail (jail.c), which then serves its job cold.
 */
#include "jail/jail_private.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "jail/init.h"

/* How long one interpreter's fork may take before the zygote counts as
 * hung (it is killed and replaced once): a fork takes milliseconds, and
 * the responder is not serving while it waits. */
#define ZY_SPAWN_TIMEOUT_MS 2000
#define ZY_HDR 32                      /* "UID GID NCG CWD" padded with spaces */
/* A zygote's interpreters share its hash seed and address-space layout
 * (docs/SECURITY.md): it is replaced after this many, a start-up's cost
 * spread over them. */
#define ZY_MAX_FORKS 256

void zy_stop(struct zygote *z)
{
	if (z->pid > 0) {
		kill(z->pid, SIGKILL);
		proc_reap(z->pid);
	}
	z->ctl = fd_close(z->ctl);
	z->pid = 0;
	z->forks = 0;
	z->root[0] = '\0';
}

/* ---- the zygote's own set-up, in its process, before its execve ---- */

/* Its root: the template's tree without the run mounts the responder has
 * on it (a non-recursive bind), so that it never holds a run's tmpfs. */
static int zy_enter_root(const char *root, struct jail_error *e)
{
	if (unshare(CLONE_NEWNS | CLONE_NEWNET | CLONE_NEWIPC) < 0)
		return util_fail(e, "zygote namespaces", errno, NULL);
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
		return util_fail(e, "zygote mounts private", errno, NULL);
	if (mount(root, root, NULL, MS_BIND, NULL) < 0)
		return util_fail(e, "zygote bind root", errno, "%s", root);
	if (chdir(root) < 0 || syscall(SYS_pivot_root, ".", ".") < 0 ||
	    umount2(".", MNT_DETACH) < 0 || chdir("/") < 0)
		return util_fail(e, "zygote pivot_root", errno, "%s", root);
	return 0;
}

/* Its text on stdin (`python3 -`: not in its argv, which ps shows), then
 * EOF; stdout and stderr a pipe nobody reads: it writes only if its text
 * is broken, and then ends.  Pipes, as a cold program's stdio: python
 * sizes its streams' buffers from them at start-up. */
static int zy_stdio(int *ctl, const char *text, struct jail_error *e)
{
	int in[2], out[2];
	size_t len = strlen(text);
	if (fd_pipe(in, 0) < 0)
		return util_fail(e, "zygote stdio", errno, NULL);
	if (fd_pipe(out, 0) < 0)
		return util_fail(e, "zygote stdio", errno, NULL);
	/* A pipe holds 64 KiB: the text (some 6 KiB) fits without a reader. */
	if (write(in[1], text, len) != (ssize_t)len)
		return util_fail(e, "zygote stdio", errno ? errno : EFBIG, "text");
	close(in[1]);
	if (dup2(in[0], 0) < 0 || dup2(out[1], 1) < 0 || dup2(out[1], 2) < 0 || dup2(*ctl, 3) < 0)
		return util_fail(e, "zygote stdio", errno, NULL);
	*ctl = 3;
	if (close_range(4, ~0U, 0) < 0)
		return util_fail(e, "zygote close fds", errno, NULL);
	return 0;
}

/* A set-up step that failed, for the responder (zy_start_failure). */
static __attribute__((noreturn)) void zy_child_fail(int ctl, const struct jail_error *e)
{
	char msg[96];
	int n = snprintf(msg, sizeof msg, "fail %s %d", e->step, e->err);
	if (n > 0)
		(void)!send(ctl, msg, (size_t)n < sizeof msg ? (size_t)n : sizeof msg - 1, MSG_NOSIGNAL);
	_exit(127);
}

static __attribute__((noreturn)) void zy_child(struct jail *j, const char *root, int ctl,
                                                const struct jail_warm_spec *ws, pid_t parent)
{
	struct jail_error e = { 0 };
	char *argv[] = { ws->argv[0], "-", NULL };
	if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) < 0 || getppid() != parent)
		_exit(127);
	if (zy_enter_root(root, &e) < 0 || creds_drop_caps(j->empty_caps, &e) < 0 ||
	    zy_stdio(&ctl, ws->fork_boot, &e) < 0)
		zy_child_fail(ctl, &e);
	init_reset_signals();
	util_fail(&e, "zygote exec", init_exec_search(argv, ws->envp), "%s", argv[0]);
	zy_child_fail(ctl, &e);
}

/* Why a zygote ended before it forked anything: the message its set-up
 * left on the socket (zy_child_fail), or 0 when there is none (its python
 * failed). */
static int zy_start_failure(struct zygote *z, struct jail_error *e)
{
	char msg[96], step[64];
	int err = 0;
	ssize_t n = recv(z->ctl, msg, sizeof msg - 1, MSG_DONTWAIT);
	if (n <= 0)
		return 0;
	msg[n] = '\0';
	if (sscanf(msg, "fail %63[^0-9] %d", step, &err) != 2)
		return 0;
	size_t k = strlen(step);
	while (k > 0 && step[k - 1] == ' ')
		step[--k] = '\0';
	util_fail(e, step, err > 0 ? err : EIO, "zygote start");
	return -1;
}

static int zy_start(struct zygote *z, struct jail *j, const char *root,
                    const struct jail_warm_spec *ws, struct jail_error *e)
{
	int sv[2];
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
		return util_fail(e, "zygote socket", errno, NULL);
	pid_t parent = getpid();
	pid_t pid = fork();
	if (pid < 0) {
		int err = errno;
		close(sv[0]);
		close(sv[1]);
		return util_fail(e, "start zygote", err, NULL);
	}
	if (pid == 0) {
		close(sv[0]);
		zy_child(j, root, sv[1], ws, parent);
	}
	close(sv[1]);
	z->pid = pid;
	z->ctl = sv[0];
	snprintf(z->root, sizeof z->root, "%s", root);
	return 0;
}

/* ---- one interpreter ---- */

static int zy_send(struct zygote *z, struct jail *j, const int *fds, int nfds, const char *cwd,
                   struct jail_error *e)
{
	char hdr[ZY_HDR + 1];
	int n = snprintf(hdr, sizeof hdr, "%u %u %d %s ", (unsigned)JAIL_INSIDE_UID,
	                 (unsigned)JAIL_INSIDE_GID, nfds - 10, cwd);
	if (n < 0 || n > ZY_HDR)
		return util_fail(e, "zygote request", ENAMETOOLONG, "%s", cwd);
	memset(hdr + n, ' ', ZY_HDR - (size_t)n);
	struct iovec iov[2] = {
		{ .iov_base = hdr, .iov_len = ZY_HDR },
		{ .iov_base = j->seccomp.insns, .iov_len = j->seccomp.len * sizeof *j->seccomp.insns },
	};
	union {
		char buf[CMSG_SPACE(13 * sizeof(int))];
		struct cmsghdr align;
	} u;
	memset(&u, 0, sizeof u);
	struct msghdr msg = { .msg_iov = iov, .msg_iovlen = 2, .msg_control = u.buf,
	                      .msg_controllen = CMSG_SPACE((size_t)nfds * sizeof(int)) };
	struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN((size_t)nfds * sizeof(int));
	memcpy(CMSG_DATA(c), fds, (size_t)nfds * sizeof(int));
	if (sendmsg(z->ctl, &msg, MSG_NOSIGNAL) < 0)
		return util_fail(e, "zygote request", errno, NULL);
	return 0;
}

/* Reads the report pipe to its end: "pid N" (G), "ok" (C), or "fail STEP
 * ERRNO" from whichever failed.  EOF comes once F is gone, hence G, so
 * the interpreter is already pid 1's child. */
static int zy_report(int rd, pid_t *child, struct jail_error *e)
{
	char buf[512];
	size_t len = 0;
	for (;;) {
		struct pollfd p = { .fd = rd, .events = POLLIN };
		int r = poll(&p, 1, ZY_SPAWN_TIMEOUT_MS);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return util_fail(e, "zygote fork", r == 0 ? ETIMEDOUT : errno, NULL);
		ssize_t n = read(rd, buf + len, sizeof buf - 1 - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		len += (size_t)n;
		if (len == sizeof buf - 1)
			break;
	}
	buf[len] = '\0';
	char step[64];
	int err = 0;
	const char *f = strstr(buf, "fail ");
	if (f && sscanf(f, "fail %63[^0-9] %d", step, &err) >= 1) {
		size_t k = strlen(step);
		while (k > 0 && step[k - 1] == ' ')
			step[--k] = '\0';
		return util_fail(e, "zygote fork", err > 0 ? err : EIO, "%s", step);
	}
	const char *p = strstr(buf, "pid ");
	long pid = p ? strtol(p + 4, NULL, 10) : 0;
	if (pid <= 1 || !strstr(buf, "ok\n"))
		return util_fail(e, "zygote fork", EPROTO, "no interpreter reported");
	*child = (pid_t)pid;
	return 0;
}

static int zy_fork_once(struct zygote *z, struct jail *j, const int ns_fds[6], const int stdio[3],
                        const int *cg_fds, int ncg, const char *cwd, pid_t *child,
                        struct jail_error *e)
{
	int rp[2];
	if (fd_pipe(rp, 0) < 0)
		return util_fail(e, "zygote report pipe", errno, NULL);
	/* The order warm_fork.py reads them in. */
	int fds[13];
	int n = 0;
	for (int i = 0; i < 6; i++)
		fds[n++] = ns_fds[i];
	fds[n++] = rp[1];
	for (int i = 0; i < 3; i++)
		fds[n++] = stdio[i];
	for (int i = 0; i < ncg && i < 3; i++)
		fds[n++] = cg_fds[i];
	int rc = zy_send(z, j, fds, n, cwd, e);
	close(rp[1]);
	if (rc == 0)
		rc = zy_report(rp[0], child, e);
	close(rp[0]);
	return rc;
}

int zy_fork(struct jail *j, const char *root, const struct jail_warm_spec *ws, const int ns_fds[6],
            const int stdio[3], const int *cg_fds, int ncg, pid_t *child, struct jail_error *e)
{
	struct zygote *z = &j->zygote;
	const char *cwd = ws->cwd ? ws->cwd : JAIL_WORK_DIR;
	if (z->pid > 0 && (strcmp(z->root, root) != 0 || z->forks >= ZY_MAX_FORKS))
		zy_stop(z);                    /* another template, a new tree, or enough */
	if (ns_fds[0] < 0)
		return util_fail(e, "zygote fork", EBADF, "jail namespaces not open");
	for (int attempt = 0; attempt < 2; attempt++) {
		if (z->pid <= 0 && zy_start(z, j, root, ws, e) < 0)
			return -1;
		if (zy_fork_once(z, j, ns_fds, stdio, cg_fds, ncg, cwd, child, e) == 0) {
			z->forks++;
			return 0;
		}
		if (zy_start_failure(z, e) < 0) {
			zy_stop(z);                /* its set-up failed: it would again */
			return -1;
		}
		/* A zygote that died (or hangs) is replaced once; a step that
		 * failed in a live one fails the same way again. */
		int status;
		pid_t gone = waitpid(z->pid, &status, WNOHANG);
		if (gone == z->pid)
			z->pid = 0;                /* reaped: its pid is free for others */
		else if (strcmp(e->step, "zygote request") != 0 &&
		         !(e->err == ETIMEDOUT || e->err == EPROTO))
			return -1;
		zy_stop(z);
	}
	return -1;
}

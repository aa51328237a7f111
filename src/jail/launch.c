/*
 * launch.c - starting a step's jail: clone its pid 1 (init.c), write its
 * id maps, let it prepare (mounts, pivot_root, hostname...), then tell it
 * to start the program.  Either all at once for a step (launch_step), or
 * in two halves: prepared ahead between jobs (launch_warm_start, called by
 * jail_idle) and told to go when the job arrives.  What happens once the
 * program runs is supervise.c's.
 */
#include "jail/jail_private.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "jail/init.h"
#include "jail/rawsys.h"

/* A pid 1 started ahead of its job (jail_idle): namespaces, id maps, mounts
 * and pivot_root done, waiting for the word to start the program.  Only in
 * CLONE_VM mode: there pid 1 reads the job from our memory once told to go;
 * a forked pid 1 only has the memory of its fork, so it is started per step. */
struct launch_warm {
	struct init_args a;          /* our ends of the pipes; the jail's are closed */
	pid_t pid;
	struct cg_run *cg;
	char root[PATH_MAX];         /* the root it pivoted into */
	/* A warm interpreter started in it (launch_warm_program): */
	bool program;
	char key[512];
	struct jail_limits limits;   /* its rlimits and cgroup limits */
};

static void launch_args_init(struct init_args *a, struct jail *j, const char *root)
{
	*a = (struct init_args){ .j = j, .root = root, .go_rd = -1, .go_wr = -1, .rep_rd = -1,
	                         .rep_wr = -1, .in_rd = -1, .in_wr = -1, .out_rd = -1,
	                         .out_wr = -1, .err_rd = -1, .err_wr = -1, .pgo_rd = -1,
	                         .pgo_wr = -1, .exec_rd = -1, .exec_wr = -1,
	                         .ns_fds = { -1, -1, -1, -1, -1, -1 }, .run_fds = { -1, -1, -1 } };
}

void launch_close_fds(struct init_args *a)
{
	int *fds[] = { &a->go_rd, &a->go_wr, &a->rep_rd, &a->rep_wr, &a->in_rd, &a->in_wr,
	               &a->out_rd, &a->out_wr, &a->err_rd, &a->err_wr, &a->pgo_rd, &a->pgo_wr };
	for (size_t i = 0; i < sizeof fds / sizeof fds[0]; i++) {
		fd_close(*fds[i]);
		*fds[i] = -1;
	}
	for (size_t i = 0; i < 6; i++)
		a->ns_fds[i] = fd_close(a->ns_fds[i]);
}

/* The namespaces a zygote's interpreter joins (zygote.c), in the order it
 * joins them: the user namespace first gives it the capabilities the
 * others need.  They are opened now, while pid 1 waits for its go: the
 * kernel lets another process at a non-dumpable one's namespaces only
 * with CAP_SYS_PTRACE over the host (the /proc/PID/ns open and setns with
 * a pidfd both check ptrace access), and pid 1 turns non-dumpable as its
 * first step.  Raw calls: pid 1 runs on our memory. */
static long launch_open_ns(pid_t pid, struct init_args *a)
{
	static const char *const names[6] = { "user", "mnt", "net", "ipc", "uts", "pid" };
	char path[64] = "/proc/";
	size_t n = 6, k;
	char digits[16];
	for (k = 0; pid > 0 && k < sizeof digits; pid /= 10)
		digits[k++] = (char)('0' + pid % 10);
	while (k > 0)
		path[n++] = digits[--k];
	memcpy(path + n, "/ns/", 4);
	n += 4;
	for (size_t i = 0; i < 6; i++) {
		memcpy(path + n, names[i], strlen(names[i]) + 1);
		long fd = raw_openat(AT_FDCWD, path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			return fd;
		a->ns_fds[i] = (int)fd;
	}
	return 0;
}

static int launch_pipes(struct init_args *a, struct jail_error *e)
{
	int p[6][2];
	int n = 0;
	for (; n < 6; n++)
		if (fd_pipe(p[n], 0) < 0)
			break;
	if (n < 6) {
		int err = errno;
		for (int i = 0; i < n; i++) {
			fd_close(p[i][0]);
			fd_close(p[i][1]);
		}
		return util_fail(e, "create pipes", err, NULL);
	}
	a->go_rd = p[0][0], a->go_wr = p[0][1];
	a->rep_rd = p[1][0], a->rep_wr = p[1][1];
	a->in_rd = p[2][0], a->in_wr = p[2][1];
	a->out_rd = p[3][0], a->out_wr = p[3][1];
	a->err_rd = p[4][0], a->err_wr = p[4][1];
	a->pgo_rd = p[5][0], a->pgo_wr = p[5][1];
	/* Our ends never block supervise.c's loop. */
	fcntl(a->in_wr, F_SETFL, O_NONBLOCK);
	fcntl(a->out_rd, F_SETFL, O_NONBLOCK);
	fcntl(a->err_rd, F_SETFL, O_NONBLOCK);
	return 0;
}

/* A detached run's mounts go to the first pid 1 cloned for them, and only
 * to it: a mount moved into a namespace cannot be moved again, nor (before
 * Linux 6.15) cloned from outside it.  Marked taken before the clone, so a
 * pid 1 that failed half-way is not followed by one that finds none. */
static int launch_new_args(struct jail *j, const char *root, struct mnt_run *run,
                           struct cg_run *cg, struct init_args *a, struct jail_error *e)
{
	launch_args_init(a, j, root);
	if (run->detached) {
		if (run->moved)
			return util_fail(e, "prepare jail", ESRCH,
			                 "the run's tmpfs went with a prepared pid 1 that ended");
		run->moved = true;
		memcpy(a->run_fds, run->fd, sizeof a->run_fds);
	}
	if (launch_pipes(a, e) < 0)
		return -1;
	a->ncg = cg_run_procs_fds(cg, a->cg_fds);
	return 0;
}

/* Our copies of the program's stdio ends: closed so that EOF means "all
 * gone".  A stage made for the zygote's interpreter keeps them until that
 * is forked (launch_warm_program): it gets them from us. */
static void launch_close_prog_ends(struct init_args *a)
{
	a->in_rd = fd_close(a->in_rd);
	a->out_wr = fd_close(a->out_wr);
	a->err_wr = fd_close(a->err_wr);
}

/* Our copies of the jail's ends. */
static void launch_close_jail_ends(struct init_args *a, bool keep_prog_ends)
{
	a->go_rd = fd_close(a->go_rd);
	a->rep_wr = fd_close(a->rep_wr);
	a->pgo_rd = fd_close(a->pgo_rd);
	if (!keep_prog_ends)
		launch_close_prog_ends(a);
}

static void launch_kill_reap(pid_t pid)
{
	kill(pid, SIGKILL);
	proc_reap(pid);
}

/* Clones pid 1 and lets it prepare (init.c: maps, mounts, pivot_root,
 * hostname); on success it waits in read(go) for its program. */
static int launch_clone(struct jail *j, struct init_args *a, pid_t *out, struct jail_error *e)
{
	int flags = CLONE_NEWUSER | CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWNET | CLONE_NEWIPC |
	            CLONE_NEWUTS | SIGCHLD;
	if (j->use_clone_vm)
		flags |= CLONE_VM;
	/* The last pid 1 left our shared mm non-dumpable (init.c), and the
	 * /proc/PID files we write the id maps to then belong to host root.
	 * Dumpable again for that: no jailed process that shares our memory
	 * can run now (every earlier pid 1 has been reaped, and with it its
	 * pid namespace: jail.c, job_stage_clear; or, abandoned, it and its
	 * program have SIGKILL queued: launch_warm_abandon), and the new pid 1
	 * clears the flag again as its first step, before anything of a job
	 * exists. */
	if (prctl(PR_SET_DUMPABLE, 1, 0, 0, 0) < 0)
		return util_fail(e, "make caller dumpable", errno, NULL);
	pid_t pid = clone(init_main, j->stack_top[0], flags, a);
	if (pid < 0)
		return util_fail(e, "clone namespaces", errno, NULL);

	/* [raw only] from here to the report: pid 1 runs on our memory. */
	struct init_msg m;
	long rc = ns_write_child_maps(pid, j->uid_map, j->gid_map);
	const char *step = "write id maps";
	if (rc == 0 && a->late_program) {
		rc = launch_open_ns(pid, a);
		step = "open jail namespaces";
	}
	if (rc == 0) {
		long w = raw_write(a->go_wr, "g", 1);
		rc = w == 1 ? 0 : w < 0 ? w : -EIO;
		step = "start jail";
	}
	long n = rc == 0 ? raw_read(a->rep_rd, &m, sizeof m) : 0;
	/* [libc again] pid 1 is blocked (read go) or dead. */
	if (rc < 0) {
		launch_kill_reap(pid);
		return util_fail(e, step, (int)-rc, NULL);
	}
	if (n != (long)sizeof m) {
		launch_kill_reap(pid);
		return util_fail(e, "jail setup", n < 0 ? (int)-n : EPIPE, "pid 1 ended without a report");
	}
	if (m.kind != INIT_MSG_PREPARED) {
		launch_kill_reap(pid);  /* it has exited: this only reaps */
		*e = m.err;
		return -1;
	}
	*out = pid;
	return 0;
}

/* Tells a prepared pid 1 to start the program (init.c reads the job's
 * step from j) and waits for it to be running.  On failure pid 1 is
 * killed (with what the run's cgroup holds) and reaped. */
static int launch_go(struct init_args *a, pid_t pid, struct cg_run *cg, int *exec_errno,
                     struct jail_error *e)
{
	struct init_msg m;
	/* [raw only] pid 1 and the program set up on our memory. */
	long w = raw_write(a->go_wr, "g", 1);
	long n = w == 1 ? raw_read(a->rep_rd, &m, sizeof m) : 0;
	/* [libc again] */
	if (w != 1 || n != (long)sizeof m) {
		kill(pid, SIGKILL);
		cg_run_kill(cg);
		proc_reap(pid);
		return util_fail(e, "jail setup", w < 0 ? (int)-w : n < 0 ? (int)-n : EPIPE,
		               "pid 1 ended without a report");
	}
	if (m.kind != INIT_MSG_READY) {
		proc_reap(pid);
		*e = m.err;
		return -1;
	}
	*exec_errno = m.exec_errno;
	return 0;
}

int launch_warm_start(struct jail *j, const char *root, struct mnt_run *run, struct cg_run *cg,
                      bool late_program, struct launch_warm **out, struct jail_error *e)
{
	*out = NULL;
	if (!j->use_clone_vm)
		return 0;
	struct launch_warm *w = calloc(1, sizeof *w);
	if (!w)
		return util_fail(e, "prepare jail", ENOMEM, NULL);
	if (launch_new_args(j, root, run, cg, &w->a, e) < 0) {
		free(w);
		return -1;
	}
	w->a.late_program = late_program;
	int rc = launch_clone(j, &w->a, &w->pid, e);
	launch_close_jail_ends(&w->a, late_program);
	if (rc < 0) {
		launch_close_fds(&w->a);
		free(w);
		return -1;
	}
	w->cg = cg;
	snprintf(w->root, sizeof w->root, "%s", root);
	*out = w;
	return 0;
}

int launch_warm_program(struct jail *j, struct launch_warm *w, const struct jail_warm_spec *ws,
                        struct jail_error *e)
{
	struct jail_spec spec = { .envp = ws->envp };
	struct jail_step step = { .name = "warm", .argv = ws->argv, .limits = ws->limits,
	                          .cwd = ws->cwd };
	/* Its RLIMIT_CPU as high as a handover may set it: the job's CPU limit
	 * plus the one second the start-up may have used (init.c,
	 * init_warm_handover), and rlimits only go down.  Without it a job
	 * asking for the highest CPU (or wall) time failed at the handover
	 * (setrlimit, EPERM): tests/integration/test_warm.py,
	 * test_the_highest_limits_are_served_warm; tests/jail/test_jail.py. */
	step.limits.cpu_time_ms = (ws->limits.cpu_time_ms ? ws->limits.cpu_time_ms
	                                                  : ws->limits.wall_time_ms) + 1000;
	int exec_errno = 0;
	if ((size_t)snprintf(w->key, sizeof w->key, "%s", ws->key) >= sizeof w->key)
		return util_fail(e, "warm start", ENAMETOOLONG, "key");
	/* With a zygote (zygote.c) the interpreter is forked into the jail,
	 * and pid 1 adopts it in place of the program it prepared; else that
	 * program execs the interpreter. */
	pid_t adopt = 0;
	if (j->warm_fork && ws->fork_boot) {
		int stdio[3] = { w->a.in_rd, w->a.out_wr, w->a.err_wr };
		if (zy_fork(j, w->root, ws, w->a.ns_fds, stdio, w->a.cg_fds, w->a.ncg, &adopt, e) < 0)
			return -1;
	}
	launch_close_prog_ends(&w->a);
	/* pid 1 reads this once told to go, as for a job's step. */
	j->handover = (struct init_handover){ .spec = &spec, .step = &step, .warm_start = true,
	                                      .adopt_pid = adopt };
	int rc = launch_go(&w->a, w->pid, w->cg, &exec_errno, e);
	j->handover = (struct init_handover){ 0 };
	if (rc < 0) {
		w->pid = 0;              /* launch_go reaped it */
		return -1;
	}
	if (exec_errno)
		return util_fail(e, "warm start", exec_errno, "%s", ws->argv[0]);
	w->program = true;
	w->limits = ws->limits;
	return 0;
}

const char *launch_warm_key(const struct launch_warm *w)
{
	return w && w->program ? w->key : NULL;
}

/* rlimits can only go down (pid 1 lowers them), and the cgroup's memory
 * limit must not fall below what the interpreter already uses (jail.c
 * checks that): a job asking for more than the warm limits runs cold. */
static bool launch_lim_le(uint64_t job, uint64_t warm)
{
	return warm == 0 || (job != 0 && job <= warm);
}

const char *launch_warm_misfit(const struct launch_warm *w, const char *key,
                               const struct jail_limits *l)
{
	if (!w || !w->program)
		return "none waiting";
	if (!key || strcmp(key, w->key) != 0)
		return "other runtime or template";
	if (!launch_lim_le(l->memory_bytes, w->limits.memory_bytes) ||
	    !launch_lim_le(l->max_processes, w->limits.max_processes) ||
	    !launch_lim_le(l->max_file_bytes, w->limits.max_file_bytes) ||
	    !launch_lim_le(l->max_open_files, w->limits.max_open_files))
		return "limits";
	return NULL;
}

void launch_warm_discard(struct launch_warm **w)
{
	if (!*w)
		return;
	if ((*w)->pid > 0)
		launch_kill_reap((*w)->pid);
	launch_close_fds(&(*w)->a);
	free(*w);
	*w = NULL;
}

/* The children of pid (a prepared pid 1: its program, or the warm
 * interpreter that program became), up to max; 0 when none or unreadable. */
static size_t launch_children(pid_t pid, pid_t *out, size_t max)
{
	char path[64], buf[128];
	snprintf(path, sizeof path, "/proc/%d/task/%d/children", (int)pid, (int)pid);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	ssize_t n = read(fd, buf, sizeof buf - 1);
	close(fd);
	size_t k = 0;
	buf[n > 0 ? n : 0] = '\0';
	for (char *p = buf, *end; k < max; p = end) {
		long v = strtol(p, &end, 10);
		if (end == p || v <= 0)
			break;
		out[k++] = (pid_t)v;
	}
	return k;
}

pid_t launch_warm_abandon(struct launch_warm **w, int *keep_fd)
{
	pid_t pid = 0;
	*keep_fd = -1;
	if (!*w)
		return 0;
	/* Its program first, while pid 1 still holds it as a child: until it
	 * execve's it shares our memory, which the next pid 1's set-up makes
	 * dumpable for a moment (launch_clone); with SIGKILL queued it never
	 * runs again. */
	pid_t kids[4];
	size_t nkids = (*w)->pid > 0 ? launch_children((*w)->pid, kids, 4) : 0;
	for (size_t i = 0; i < nkids; i++)
		kill(kids[i], SIGKILL);
	if (nkids == 0 && (*w)->pid > 0) {
		/* Not named (or already gone): wait for all of it instead. */
		launch_kill_reap((*w)->pid);
		(*w)->pid = 0;
	}
	/* SIGKILL first: a pid 1 that saw its go pipe closed would run our
	 * code (raw_exit) on the stack the next pid 1 is about to use.  A
	 * fatal signal is acted on before any return to user mode, so once
	 * kill() has queued it pid 1 never runs user code again, and (no
	 * CLONE_CHILD_CLEARTID, no robust list or rseq in a CLONE_VM child)
	 * its exit writes nothing to our memory. */
	if ((*w)->pid > 0 && kill((*w)->pid, SIGKILL) == 0)
		pid = (*w)->pid;
	else if ((*w)->pid > 0)
		launch_kill_reap((*w)->pid);
	/* The same holds for a program waiting for its start (init.c) on the
	 * program stack, which the next pid 1's program is about to use: it
	 * waits in read(pgo), and pid 1's exit closes pid 1's write end before
	 * it kills the rest of its pid namespace.  Our write end keeps it from
	 * ever seeing EOF, until pid 1 (and with it the whole namespace) has
	 * been reaped: the caller closes it then. */
	if (pid > 0) {
		*keep_fd = (*w)->a.pgo_wr;
		(*w)->a.pgo_wr = -1;
	}
	launch_close_fds(&(*w)->a);
	free(*w);
	*w = NULL;
	return pid;
}

bool launch_warm_alive(struct launch_warm *w)
{
	if (!w || w->pid <= 0)
		return false;
	if (waitpid(w->pid, NULL, WNOHANG | __WALL) != 0) {
		w->pid = 0;                    /* reaped (or not ours): never kill that pid */
		return false;
	}
	return true;
}

/* The prepared pid 1 when it was made for this root and cgroup and is
 * still alive, else NULL (it is discarded).  A prepared pid 1 that
 * something killed while it waited (it is our child: waitpid tells) is
 * replaced; it never ran anything.  One that does not fit is gone before
 * a new one starts: in CLONE_VM mode every pid 1 runs on the same stack
 * (j->stack_top[0]). */
static struct launch_warm *launch_warm_claim(struct launch_warm **warm, const char *root,
                                             struct cg_run *cg)
{
	struct launch_warm *w = warm ? *warm : NULL;
	if (warm)
		*warm = NULL;
	if (w && (!launch_warm_alive(w) || w->cg != cg || strcmp(w->root, root) != 0))
		launch_warm_discard(&w);
	return w;
}

int launch_step(struct jail *j, const char *root, struct mnt_run *run, struct cg_run *cg,
                struct launch_warm **warm, struct init_args *a, pid_t *pid, int *exec_errno,
                struct jail_error *e)
{
	struct launch_warm *w = launch_warm_claim(warm, root, cg);
	*pid = 0;
	/* A warm interpreter only for the job it was found to fit (jail.c);
	 * never a program that is not the step's own. */
	if (w && w->program && !j->handover.warm_job)
		launch_warm_discard(&w);
	if (w) {
		launch_close_prog_ends(&w->a);
		*a = w->a;
		*pid = w->pid;
		free(w);
	} else {
		if (launch_new_args(j, root, run, cg, a, e) < 0) {
			launch_close_fds(a);
			return -1;
		}
		int rc = launch_clone(j, a, pid, e);
		launch_close_jail_ends(a, false);
		if (rc < 0) {
			launch_close_fds(a);
			return -1;
		}
	}
	if (launch_go(a, *pid, cg, exec_errno, e) < 0) {
		launch_close_fds(a);
		return -1;
	}
	return 0;
}

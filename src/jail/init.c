/*
 * init.c - starting one step of a job: the jail's pid 1 and the program.
 *
 * caller (C)                           pid 1 (I), clone(CLONE_VM | new user,
 *                                      mount, pid, net, ipc, uts namespaces)
 * clone -------------------------------> signals blocked, PDEATHSIG;
 *                                       raw read(go)               [raw only]
 * [raw only] id maps, write(go),
 *   read(report) ----------------------> non-dumpable, new root, /proc,
 *                                       pivot_root, lo up, hostname,
 *                                       bounding set               [libc]
 *                                       clone(CLONE_VM) the program P:
 *                                       setsid, cgroup attach + cgroup
 *                                       ns [libc in P]; P raw write(exec:
 *                                       prepared), raw read(pgo)
 * <------------------------------------ raw write(report: prepared),
 *                                       raw read(go)               [raw only]
 *   (jail_idle() stops here: the next job's jail waits, prepared)
 * write(go), read(report) -------------> job's step from j->handover;
 *                                       raw write(pgo), raw read(exec):
 *                                       P: signals, stdio, rlimits,
 *                                       creds, close fds, seccomp, execve
 *                                       [libc in P]; EOF on exec
 *                                       raw write(report: ready)   [raw only]
 * <------------------------------------ reap every child; when P ends,
 * supervise (supervise.c)               raw write(report: exit status) and
 *                                       exit: the kernel kills the rest of
 *                                       the pid namespace.
 *
 * A warm interpreter (jail_idle_warm) is such a program, started with the
 * warm limits while the caller is idle; I then waits for one more go byte
 * (init_warm_handover), lowers the program's rlimits to its job's step
 * (prlimit) and reports ready again before reaping as above.
 *
 * C, I and (until its execve) P share memory (see rawsys.h for why, and
 * why the [raw only] parts must not touch libc state): at any time at most
 * one of them runs libc code, the others wait in raw calls.  Every setup step of I and P that fails is
 * reported with its name and errno and the program never runs (fail
 * closed).  With JAIL_CLONE_FORK (SANDBOX_JAIL_FORK=1: valgrind, which
 * cannot follow CLONE_VM without threads) I and P are ordinary forks; the
 * protocol is the same because everything crosses through pipes.
 */
#include "jail/jail_private.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "jail/init.h"
#include "jail/rawsys.h"

#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_CLOEXEC (1U << 2)
#endif

/* ---------------- the program (P) ---------------- */

static const char *env_path(char *const envp[])
{
	for (size_t i = 0; envp && envp[i]; i++)
		if (strncmp(envp[i], "PATH=", 5) == 0)
			return envp[i] + 5;
	return "/usr/local/bin:/usr/bin:/bin";
}

/* execvpe() searches the caller's PATH, not the program's: do it here,
 * inside the new root, with the program's own PATH. Returns errno. */
int init_exec_search(char *const argv[], char *const envp[])
{
	const char *file = argv[0];
	if (!file || !*file)
		return ENOENT;
	if (strchr(file, '/')) {
		execve(file, argv, envp);
		return errno;
	}
	int result = ENOENT;
	for (const char *p = env_path(envp); ; ) {
		const char *colon = strchr(p, ':');
		size_t n = colon ? (size_t)(colon - p) : strlen(p);
		char full[4096];
		if (n > 0 && (size_t)snprintf(full, sizeof full, "%.*s/%s", (int)n, p, file) < sizeof full) {
			execve(full, argv, envp);
			if (errno == EACCES)
				result = EACCES;
			else if (errno != ENOENT && errno != ENOTDIR)
				return errno;
		}
		if (!colon)
			break;
		p = colon + 1;
	}
	return result;
}

static int prog_stdio(const struct init_args *a, struct jail_error *e)
{
	if (dup2(a->in_rd, 0) < 0 || dup2(a->out_wr, 1) < 0 || dup2(a->err_wr, 2) < 0)
		return util_fail(e, "program stdio", errno, NULL);
	return 0;
}

/* Ignored signals and the blocked mask survive execve: the caller ignores
 * SIGPIPE, and a program must not inherit that. */
void init_reset_signals(void)
{
	sigset_t all;
	sigemptyset(&all);
	sigprocmask(SIG_SETMASK, &all, NULL);
	for (int s = 1; s < NSIG; s++)
		if (s != SIGKILL && s != SIGSTOP)
			signal(s, SIG_DFL);
}

/* The program moves itself into the run's cgroups; pid 1 never enters
 * them.  Pid 1 shares the caller's memory, and the OOM killer kills every
 * process sharing its victim's mm: were pid 1 in the jail's memory cgroup,
 * a program filling tmpfs (pages no process's RSS shows) could make pid 1
 * the victim and take the caller down with it.  tests/jail caught this.
 * The cgroup namespace comes after the move, so the program sees its own
 * cgroup as "/" and nothing of the host's layout. */
static int prog_cgroup(const struct init_args *a, struct jail_error *e)
{
	for (int i = 0; i < a->ncg; i++)
		if (write(a->cg_fds[i], "0", 1) != 1)
			return util_fail(e, "cgroup attach", errno, NULL);
	if (unshare(CLONE_NEWCGROUP) < 0)
		return util_fail(e, "unshare cgroup namespace", errno, NULL);
	return 0;
}

/* pid 1 made /work the working directory; a step may start elsewhere. */
static int prog_cwd(const struct init_args *a, struct jail_error *e)
{
	const char *cwd = a->job.step->cwd;
	if (cwd && chdir(cwd) < 0)
		return util_fail(e, "chdir", errno, "%s", cwd);
	return 0;
}

static int prog_setsid(const struct init_args *a, struct jail_error *e)
{
	(void)a;
	return setsid() < 0 ? util_fail(e, "setsid", errno, NULL) : 0;
}

static int prog_limits(const struct init_args *a, struct jail_error *e)
{
	return lim_apply(&a->job.step->limits, a->j->info.memory_limit, !a->j->as_root, e);
}

static int prog_quotas(const struct init_args *a, struct jail_error *e)
{
	return quota_apply_rlimits(&a->j->info.quota, e);
}

static int prog_creds(const struct init_args *a, struct jail_error *e)
{
	return creds_drop(a->j->empty_caps, e);
}

/* Only 0, 1, 2 may reach the program; the report pipe closes itself at
 * execve, which tells pid 1 the exec succeeded. */
static int prog_close_fds(const struct init_args *a, struct jail_error *e)
{
	(void)a;
	if (close_range(3, ~0U, CLOSE_RANGE_CLOEXEC) < 0)
		return util_fail(e, "close fds", errno, NULL);
	return 0;
}

/* The CPUs a responder pinned to its home CPU had before (cpus.c): the
 * program's own set, as without the pin. */
static int prog_cpus(const struct init_args *a, struct jail_error *e)
{
	return cpu_restore(a->j, 0, e);
}

static int prog_seccomp(const struct init_args *a, struct jail_error *e)
{
	int rc = sc_load(&a->j->seccomp);
	return rc < 0 ? util_fail(e, "seccomp load", -rc, NULL) : 0;
}

/* Returns only when the program could not be executed. */
static int prog_exec(const struct init_args *a, struct jail_error *e)
{
	char *const *argv = a->job.step->argv;
	int err = init_exec_search(argv, a->job.spec->envp);
	return util_fail(e, "execve", err, "%s", argv[0] ? argv[0] : "");
}

/* What the program reports to pid 1 on its exec pipe, one write smaller
 * than PIPE_BUF each: that it is prepared, or that a step failed, and
 * whose fault that is: the sandbox's (fail closed: the step fails, nothing
 * of the user's runs) or the program's (it does not exist or cannot be
 * executed: exit status 127, a normal result).  A successful execve
 * closes the pipe instead. */
enum prog_fault { PROG_FAULT_SANDBOX = 0, PROG_FAULT_PROGRAM, PROG_PREPARED };

struct prog_report {
	enum prog_fault fault;
	struct jail_error err;
};
_Static_assert(sizeof(struct prog_report) < 4096, "prog_report must fit PIPE_BUF");

struct prog_step {
	int (*run)(const struct init_args *a, struct jail_error *e);
	enum prog_fault fault;
};

/* The program's set-up, in order (minijail's; docs/SECURITY.md): each step
 * may rely on the ones before it, seccomp comes last but for execve because
 * it would refuse nothing the earlier steps use yet must cover everything
 * after them.  The first part needs nothing of the job and is done when
 * the jail is prepared (jail_idle): above all the cgroup attach, which
 * takes the kernel's cgroup_threadgroup_rwsem for writing and so waits for
 * an RCU grace period, milliseconds when the CPUs were idle (bench/
 * cg-attach.py, docs/PERFORMANCE.md); the rest once the job is known.
 * (Moving the credentials and the seccomp load ahead too measured no
 * difference: jail_loop bench, 360 runs each way, p50 2926 us as here, 2933
 * moved, back to back; 3244 and 3215 us after 50 ms pauses.) */
static const struct prog_step prog_prepare_steps[] = {
	{ prog_setsid, PROG_FAULT_SANDBOX },
	{ prog_cgroup, PROG_FAULT_SANDBOX },
};
static const struct prog_step prog_job_steps[] = {
	{ prog_stdio, PROG_FAULT_SANDBOX },
	{ prog_cwd, PROG_FAULT_SANDBOX },
	{ prog_limits, PROG_FAULT_SANDBOX },
	{ prog_quotas, PROG_FAULT_SANDBOX },
	{ prog_creds, PROG_FAULT_SANDBOX },
	{ prog_close_fds, PROG_FAULT_SANDBOX },
	{ prog_cpus, PROG_FAULT_SANDBOX },
	{ prog_seccomp, PROG_FAULT_SANDBOX },
	{ prog_exec, PROG_FAULT_PROGRAM },
};

static int prog_run_steps(const struct init_args *a, const struct prog_step *steps, size_t n,
                          struct prog_report *r)
{
	for (size_t i = 0; i < n; i++) {
		if (steps[i].run(a, &r->err) < 0) {
			r->fault = steps[i].fault;
			return -1;
		}
	}
	return 0;
}

/* The program's own copy of its pid 1's arguments; its job from
 * j->handover once pid 1 passes the go on (a forked program has it in its
 * copy of our memory, made after the handover was written; a CLONE_VM one
 * reads ours while we wait in read(report)). */
static int prog_main(void *arg)
{
	struct init_args args = *(const struct init_args *)arg;
	struct init_args *a = &args;
	struct prog_report r;
	memset(&r, 0, sizeof r);
	/* Not the pid 1's ends, nor its copies of the caller's report pipe: a
	 * pid 1 that dies must look dead to the caller at once. */
	close(a->rep_wr);
	close(a->go_rd);
	close(a->pgo_wr);
	close(a->exec_rd);
	if (prog_run_steps(a, prog_prepare_steps, sizeof prog_prepare_steps /
	                   sizeof prog_prepare_steps[0], &r) < 0) {
		(void)!write(a->exec_wr, &r, sizeof r);
		_exit(127);
	}
	/* [raw only] until the go: pid 1 and the caller go on.  All signals
	 * are still blocked (pid 1's mask): only SIGKILL ends the wait, and
	 * EOF never comes while pid 1 lives (launch.c keeps a write end). */
	r.fault = PROG_PREPARED;
	char go;
	if (raw_write(a->exec_wr, &r, sizeof r) != (long)sizeof r || raw_read(a->pgo_rd, &go, 1) != 1)
		raw_exit(127);
	/* [libc again] pid 1 and the caller wait for our exec. */
	a->job = a->j->handover;
	memset(&r, 0, sizeof r);
	init_reset_signals();
	close(a->pgo_rd);
	prog_run_steps(a, prog_job_steps, sizeof prog_job_steps / sizeof prog_job_steps[0], &r);
	(void)!write(a->exec_wr, &r, sizeof r);
	_exit(127);
}

/* ---------------- pid 1 (I) ---------------- */

/* Everything that does not depend on the job: done when the jail is
 * prepared, possibly long before its job arrives (jail_idle). */
/* First of all, pid 1 makes itself non-dumpable.  It shares the caller's
 * memory (CLONE_VM), and several /proc/PID files act on that memory, not
 * on the task: oom_score_adj is copied to every process sharing the mm,
 * coredump_filter and clear_refs change the mm, cmdline and mem read it.
 * A program of the same uid could open them all.  Non-dumpable, every
 * /proc/1 file belongs to host root and ptrace access (mem, environ...)
 * needs CAP_SYS_PTRACE over the host: independent of the capability
 * subset check and of hidepid (mount.c), which hide pid 1 as well.  The
 * flag belongs to the mm, so the caller is non-dumpable too (no core file
 * of a responder can hold a tenant's data); it sets it back only to write
 * the next pid 1's id maps, when no jailed process is alive (launch.c,
 * launch_clone).  docs/SECURITY.md, "the jail's pid 1". */
static int init_undumpable(struct jail_error *e)
{
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0)
		return util_fail(e, "make pid 1 non-dumpable", errno, NULL);
	return 0;
}

static int init_setup(const struct init_args *a, struct jail_error *e)
{
	const int *run_fds = a->run_fds[0] >= 0 ? a->run_fds : NULL;
	if (init_undumpable(e) < 0 || mnt_enter_root(a->root, run_fds, e) < 0 ||
	    ns_loopback_up(e) < 0 || quota_apply_userns(&a->j->info.quota, e) < 0)
		return -1;
	if (sethostname(JAIL_HOSTNAME, sizeof JAIL_HOSTNAME - 1) < 0)
		return util_fail(e, "sethostname", errno, NULL);
	/* For the zygote's interpreter: its parent there (G) takes pid 3, and
	 * sets the counter back to 1 before it forks, so that the interpreter
	 * is pid 2 as a cold run's program (zygote.c).  A kernel without
	 * CONFIG_CHECKPOINT_RESTORE has no such file: pid 3 then. */
	if (a->late_program && access("/proc/sys/kernel/ns_last_pid", F_OK) == 0 &&
	    file_write_str("/proc/sys/kernel/ns_last_pid", "2", e, "set ns_last_pid") < 0)
		return -1;
	return creds_drop_bounding_set(e);
}

/* Starts the program up to its job (prog_prepare_steps) while the caller
 * waits for our report.  It shares our memory (CLONE_VM) but not our
 * stack, and from its clone on runs libc code: we only use raw calls until
 * it has execve'd. */
static int init_spawn(struct init_args *a, pid_t *prog, struct jail_error *e)
{
	int ep[2];
	if (fd_pipe(ep, 0) < 0)
		return util_fail(e, "program report pipe", errno, NULL);
	a->exec_rd = ep[0];
	a->exec_wr = ep[1];
	pid_t pid;
	if (a->j->use_clone_vm) {
		pid = clone(prog_main, a->j->stack_top[1], CLONE_VM | SIGCHLD, a);
	} else {
		pid = fork();
		if (pid == 0)
			prog_main(a);
	}
	if (pid < 0) {
		/* No program: libc is ours alone. (Once it runs, errno is its:
		 * nothing here may read it.) */
		int err = errno;
		close(ep[0]);
		close(ep[1]);
		return util_fail(e, "start program", err, NULL);
	}
	/* [raw only] from here: the program runs, and copies *a as it starts
	 * (we must not change it before its report). */
	raw_close(ep[1]);
	raw_close(a->pgo_rd);
	*prog = pid;
	struct prog_report r;
	long n = raw_read(a->exec_rd, &r, sizeof r);
	a->exec_wr = -1;
	if (n == (long)sizeof r && r.fault == PROG_PREPARED)
		return 0;
	/* It failed and ends (one write, then _exit): libc again once it is
	 * gone. */
	raw_syscall4(SYS_wait4, pid, 0, __WALL, 0);
	if (n == (long)sizeof r)
		*e = r.err;
	else
		util_fail(e, "start program", n < 0 ? (int)-n : EPIPE, "ended without a report");
	return -1;
}

/* Tells the prepared program to go on and waits for its execve. */
static int init_start_program(struct init_args *a, struct jail_error *e, int *exec_errno)
{
	struct prog_report r;
	/* [raw only] until the program has execve'd (EOF) or failed. */
	long n = raw_write(a->pgo_wr, "g", 1) == 1 ? raw_read(a->exec_rd, &r, sizeof r) : -EPIPE;
	raw_close(a->exec_rd);
	a->exec_rd = -1;
	if (n == (long)sizeof r) {
		if (r.fault == PROG_FAULT_SANDBOX) {
			*e = r.err;          /* a sandbox step failed: fail closed */
			return -1;
		}
		*exec_errno = r.err.err; /* the program's own fault: exit 127 */
	} else if (n != 0) {
		/* [libc again] the program is gone */
		return util_fail(e, "start program", n < 0 ? (int)-n : EIO, NULL);
	}
	return 0;
}

/* After "ready" the caller runs libc code again: from here on, raw only. */
static __attribute__((noreturn)) void init_reap(const struct init_args *a, pid_t prog)
{
	/* Zeroed by the compiler (memset touches no libc state either): no
	 * stale stack bytes cross to the caller. */
	struct init_msg m = { .kind = INIT_MSG_EXITED };
	for (;;) {
		int status = 0;
		struct rusage ru;
		long pid = raw_syscall4(SYS_wait4, -1, &status, __WALL, &ru);
		if (pid == -EINTR)
			continue;
		if (pid < 0)
			raw_exit(1);
		if (pid == prog) {
			m.wstatus = status;
			m.cpu_us = ru.ru_utime.tv_sec * 1000000L + ru.ru_utime.tv_usec +
			           ru.ru_stime.tv_sec * 1000000L + ru.ru_stime.tv_usec;
			m.maxrss_kb = ru.ru_maxrss;
			raw_write(a->rep_wr, &m, sizeof m);
			raw_exit(0);
		}
	}
}

static void init_close_stdio(struct init_args *a)
{
	raw_close(a->in_rd);
	raw_close(a->out_wr);
	raw_close(a->err_wr);
}

/* The zygote forked the warm interpreter into the jail (zygote.c) and it
 * is our child already (its parent there ended).  Such a stage was
 * prepared without a program (late_program): the interpreter is the
 * run's only process, in its cgroup and in its only cgroup namespace, as
 * a cold start's program would be.  We drop our copies of its stdio and
 * apply the rlimits that program would have set on itself (prog_limits,
 * prog_quotas), by prlimit as in init_warm_handover.  The caller waits
 * for our report: libc is ours. */
static int init_adopt(struct init_args *a, pid_t *prog, struct jail_error *e)
{
	if (!a->late_program || *prog != 0)
		return util_fail(e, "adopt interpreter", EINVAL, "a program was prepared");
	init_close_stdio(a);
	*prog = a->job.adopt_pid;
	if (lim_apply_pid(*prog, &a->job.step->limits, a->j->info.memory_limit, !a->j->as_root, e) < 0)
		return -1;
	return quota_apply_rlimits_pid(*prog, &a->j->info.quota, e);
}

/* A warm interpreter runs (started with the warm limits) and waits for
 * its job on stdin; we wait for the word that the job is here, then
 * lower its rlimits to the job's before the caller writes the job.  We
 * have CAP_SYS_RESOURCE in the jail's user namespace (the bounding set
 * is empty, the effective set is not), and lowering needs none anyway:
 * pid 1 and the interpreter have the same uid.  RLIMIT_CPU counts the
 * interpreter's start-up too: one second more as the backstop, the CPU
 * limit proper being the cgroup's usage from the handover (supervise.c;
 * warm interpreters exist only with cgroup CPU accounting).  Any failure
 * ends pid 1, and with it the interpreter, before the job reached it. */
static void init_warm_handover(struct init_args *a, pid_t prog)
{
	struct init_msg m;
	char go;
	/* [raw only] the caller is idle, running libc. */
	if (raw_read(a->go_rd, &go, 1) != 1)
		raw_exit(1);              /* discarded, or the caller is gone */
	a->job = a->j->handover;
	close(a->go_rd);
	memset(&m, 0, sizeof m);
	m.kind = INIT_MSG_READY;
	struct jail_limits l = a->job.step->limits;
	l.cpu_time_ms = (l.cpu_time_ms ? l.cpu_time_ms : l.wall_time_ms) + 1000;
	if (lim_apply_pid(prog, &l, a->j->info.memory_limit, !a->j->as_root, &m.err) < 0)
		m.kind = INIT_MSG_SETUP_FAILED;
	/* A forked interpreter has its zygote's home CPU (cpus.c) until now;
	 * a started one set its CPUs before its execve (prog_cpus). */
	else if (a->late_program && cpu_restore(a->j, prog, &m.err) < 0)
		m.kind = INIT_MSG_SETUP_FAILED;
	raw_write(a->rep_wr, &m, sizeof m);
	if (m.kind != INIT_MSG_READY)
		raw_exit(1);
}

int init_main(void *arg)
{
	/* Our own copy, on our own stack: the caller goes on to change its
	 * struct (closing its ends), and with CLONE_VM that is our memory too. */
	struct init_args args = *(const struct init_args *)arg;
	struct init_args *a = &args;
	/* No signal handler of the caller may ever run here, on its memory:
	 * a prepared pid 1 waits for its job for as long as the caller is
	 * idle.  SIGKILL still works, and the program resets its own mask. */
	unsigned long all = ~0UL;
	raw_syscall4(SYS_rt_sigprocmask, SIG_SETMASK, &all, 0, sizeof all);
	/* If the caller dies, so does the jail: pid 1's death takes the
	 * whole pid namespace along. */
	raw_syscall3(SYS_prctl, PR_SET_PDEATHSIG, SIGKILL, 0);
	/* Our copies of the caller's ends go first: if the caller dies before
	 * the death signal was armed, read(go) then sees EOF instead of
	 * waiting forever. */
	raw_close(a->go_wr);
	raw_close(a->rep_rd);
	raw_close(a->in_wr);
	raw_close(a->out_rd);
	raw_close(a->err_rd);
	char go;
	if (raw_read(a->go_rd, &go, 1) != 1)
		raw_exit(1);              /* the caller gave up: never run anything */

	struct init_msg m;
	memset(&m, 0, sizeof m);
	m.kind = INIT_MSG_PREPARED;
	pid_t prog = 0;
	if (init_setup(a, &m.err) < 0 || (!a->late_program && init_spawn(a, &prog, &m.err) < 0))
		m.kind = INIT_MSG_SETUP_FAILED;
	/* [raw only] from here (the program or the caller runs libc).  pid 1
	 * must not hold the program's stdio, or a pipe would stay open after
	 * the program's processes are gone. */
	if (!a->late_program)
		init_close_stdio(a);
	raw_write(a->rep_wr, &m, sizeof m);
	if (m.kind != INIT_MSG_PREPARED)
		raw_exit(1);
	if (raw_read(a->go_rd, &go, 1) != 1)
		raw_exit(1);              /* job cancelled or caller gone */
	a->job = a->j->handover;      /* struct init_handover: ours from now on */
	bool warm = a->job.warm_start;

	if (!warm)
		raw_close(a->go_rd);
	int started;
	if (a->job.adopt_pid > 0)
		started = init_adopt(a, &prog, &m.err);
	else if (a->late_program)
		/* A stage made for the zygote's interpreter serves only it: a job
		 * it does not fit gets a stage of its own (jail.c). */
		started = util_fail(&m.err, "start program", EINVAL, "stage made for an interpreter");
	else
		started = init_start_program(a, &m.err, &m.exec_errno);
	m.kind = started == 0 ? INIT_MSG_READY : INIT_MSG_SETUP_FAILED;
	raw_write(a->rep_wr, &m, sizeof m);
	if (m.kind != INIT_MSG_READY)
		raw_exit(1);
	if (warm)
		init_warm_handover(a, prog);
	init_reap(a, prog);
}

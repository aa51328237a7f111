/* init.h - what the caller and the jail's pid 1 share (init.c). */
#ifndef SANDBOX_JAIL_INIT_H
#define SANDBOX_JAIL_INIT_H

#include "jail/jail_private.h"

enum { INIT_MSG_PREPARED = 1, INIT_MSG_READY, INIT_MSG_SETUP_FAILED, INIT_MSG_EXITED };

/* One message per write, smaller than PIPE_BUF, so each write is atomic. */
struct init_msg {
	int kind;                    /* PREPARED, then READY, then EXITED; or SETUP_FAILED */
	int wstatus;                 /* EXITED */
	int exec_errno;              /* READY: the program's execve failed */
	long cpu_us, maxrss_kb;      /* EXITED: rusage of the program and its reaped children */
	struct jail_error err;       /* SETUP_FAILED */
};
_Static_assert(sizeof(struct init_msg) < 4096, "init_msg must fit PIPE_BUF");

struct init_args {
	struct jail *j;
	struct init_handover job;    /* pid 1: from j->handover once told to go */
	const char *root;
	int go_rd, go_wr;            /* caller -> pid 1: 1st byte: maps written, prepare;
	                              * 2nd byte: start the program (j->handover) */
	int rep_rd, rep_wr;          /* pid 1 -> caller: init_msg */
	int in_rd, in_wr;            /* program stdin */
	int out_rd, out_wr;          /* program stdout */
	int err_rd, err_wr;          /* program stderr */
	int pgo_rd, pgo_wr;          /* pid 1 -> program: start (j->handover).  We
	                              * keep a write end until pid 1 is reaped, so
	                              * the program never sees EOF: a prepared one
	                              * whose pid 1 dies ends only by SIGKILL. */
	int exec_rd, exec_wr;        /* program -> pid 1: prepared, or a setup error;
	                              * EOF once it execve'd (init.c) */
	int cg_fds[3];               /* the run's cgroup.procs, one per hierarchy */
	int ncg;
	/* The caller's: pid 1's user, mnt, net, ipc, uts and pid namespaces,
	 * opened (jail_options.warm_fork) before pid 1 makes itself
	 * non-dumpable: the zygote joins them (zygote.c); -1 otherwise. */
	int ns_fds[6];
	/* A detached run's tmpfs (struct mnt_run), which pid 1 moves into its
	 * namespace; all -1 for attached ones, already there. */
	int run_fds[MNT_RUN_N];
	/* No program made at the preparation: the zygote's interpreter is
	 * adopted (launch_warm_start); nothing else runs in the stage. */
	bool late_program;
};

int init_main(void *arg);
/* execve with argv[0] searched in the PATH of envp (not ours); returns
 * errno.  The zygote (zygote.c) starts its interpreter with it too. */
int init_exec_search(char *const argv[], char *const envp[]);
/* Empty signal mask, default dispositions: what a program must inherit. */
void init_reset_signals(void);

#endif

/*
 * jail_private.h - internals shared by the files of src/jail.
 * Every helper returns 0 or -1 and fills a struct jail_error with the step
 * and errno (util_fail); the caller decides how to report (CODING_STYLE.md).
 *
 * Names: `jail_` (functions, types) and `JAIL_` (enum values, macros) are
 * the public API, exactly what jail.h declares.  Everything else, static or
 * shared through this header, carries its file's prefix: ctx_ (ctx.c),
 * job_ (jail.c), ns_, mnt_ (mount.c), creds_, sc_ (seccomp.c), cg_
 * (cg_detect.c; cg_run_ for one run's cgroups, cg_run.c), lim_ (limits.c),
 * quota_, wd_ (workdir.c), cpu_ (cpus.c), launch_, sup_ (supervise.c), init_ and prog_
 * (init.c: pid 1 and the program).  util.c's helpers are named after what
 * they act on (fd_, file_, mono_, proc_), and its error helper is
 * util_fail.  The few macros of this header keep JAIL_: library-wide
 * constants, never seen outside src/jail.
 */
#ifndef SANDBOX_JAIL_PRIVATE_H
#define SANDBOX_JAIL_PRIVATE_H

#include <linux/filter.h>
#include <sched.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/resource.h>
#include <sys/types.h>
#include <sys/capability.h>

#include "jail/jail.h"

#define JAIL_STACK_SIZE (256 * 1024)
#define JAIL_MAX_ROOTS 8
#define JAIL_HOSTNAME "sandbox"

/* ---- util.c ---- */
int util_fail(struct jail_error *e, const char *step, int err, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
int fd_close(int fd);                      /* returns -1, keeps errno */
int fd_pipe(int fds[2], int flags);        /* both ends >= 3, O_CLOEXEC */
int file_write_str(const char *path, const char *s, struct jail_error *e, const char *step);
int file_read_u64(int dirfd, const char *name, uint64_t *out);
int file_read_key_u64(int dirfd, const char *name, const char *key, uint64_t *out);
uint64_t mono_us(void);
void proc_reap(pid_t pid);                 /* waitpid, retried on EINTR */

/* ---- ns.c: the caller's own namespaces, once per process ---- */
int ns_enter_process(bool as_root, struct jail_error *e);
/* Brings up "lo" of the current network namespace (a jail's pid 1). */
int ns_loopback_up(struct jail_error *e);
/* Writes setgroups=deny and the single-id maps of a child's user namespace,
 * with raw system calls only (see rawsys.h). */
long ns_write_child_maps(pid_t pid, const char *uid_map, const char *gid_map);

/* ---- mount.c ---- */
struct mnt_root {
	char path[4096];                       /* realpath of the RootFS tree */
	uint64_t last_used;
	bool ready;
};
int mnt_prepare_root(struct mnt_root *r, const char *path, struct jail_error *e);
void mnt_release_root(struct mnt_root *r);
/* A run's tmpfs mounts: /work, /tmp and /dev/shm, fresh for each job.
 * Attached: mounted on the RootFS tree in our namespace, which every pid 1
 * cloned afterwards copies (a job of several steps needs that: each step
 * has its own pid 1), and unmounted after the job.  Detached (fsmount(2),
 * a job of one step): in no namespace of ours; the step's pid 1 moves them
 * into its own namespace, and they go with it.  Either way fd[] holds the
 * mounts' roots: the caller fills and reads the work dir through them. */
enum { MNT_RUN_WORK, MNT_RUN_TMP, MNT_RUN_SHM, MNT_RUN_N };
struct mnt_run {
	bool made;
	bool detached;
	bool moved;                            /* detached, and a pid 1 took them */
	int fd[MNT_RUN_N];                     /* valid when made */
};
/* Whether this kernel and our seccomp/LSM context allow fsopen("tmpfs"). */
bool mnt_run_can_detach(void);
int mnt_run_mounts(struct mnt_run *m, const char *root, bool detached, uint64_t work_bytes,
                   uint64_t tmp_bytes, uid_t owner, gid_t group, struct jail_error *e);
/* Closes the fds; attached mounts are unmounted from root first. */
void mnt_run_release(struct mnt_run *m, const char *root);
/* New size caps for a run's fresh, unused tmpfs mounts (reconfigure). */
int mnt_run_resize(struct mnt_run *m, const char *root, uint64_t work_from, uint64_t work_bytes,
                   uint64_t tmp_from, uint64_t tmp_bytes);
/* A new fd for the directory at the root of mount `which` (MNT_RUN_*). */
int mnt_run_open(const struct mnt_run *m, int which);
/* Inside the jail's pid 1, before the program starts.  run_fds: a detached
 * run's mounts to move in (MNT_RUN_N fds), or NULL. */
int mnt_enter_root(const char *root, const int *run_fds, struct jail_error *e);

/* ---- seccomp.c ---- */
struct sc_filter {
	struct sock_filter *insns;
	unsigned short len;
};
#define SC_POLICY_NAME "deny-list-v2"     /* jail_info.seccomp_policy, /info */
int sc_compile(struct sc_filter *sc, struct jail_error *e);
/* sc_compile with `extra` (NULL-terminated) names also denied: lets
 * tests/jail/check_seccomp prove that a name libseccomp cannot resolve
 * stops start-up, without a knob in production code paths. */
int sc_compile_extra(struct sc_filter *sc, const char *const *extra, struct jail_error *e);
/* Every name of the policy resolves on `arch` (an SCMP_ARCH_* token) or is
 * declared absent there: lets the test check both supported architectures. */
int sc_check_tables(uint32_t arch, struct jail_error *e);
int sc_load(const struct sc_filter *sc);  /* -errno */
void sc_free(struct sc_filter *sc);

/* ---- creds.c ---- */
/* In pid 1 before the program starts; the program inherits the result. */
int creds_drop_bounding_set(struct jail_error *e);
int creds_drop(cap_t empty, struct jail_error *e);
/* The same but for the ids, which stay: the warm interpreters' zygote
 * keeps the uid that owns every jail's user namespace (zygote.c). */
int creds_drop_caps(cap_t empty, struct jail_error *e);

/* ---- limits.c ---- */
/* pid1_same_uid: the jail's pid 1 has the program's host uid (an
 * unprivileged caller), so RLIMIT_NPROC counts it too. */
int lim_apply(const struct jail_limits *l, bool have_memcg, bool pid1_same_uid, struct jail_error *e);
/* The same limits on another process (prlimit): pid 1 lowers a warm
 * interpreter's to its job's. */
int lim_apply_pid(pid_t pid, const struct jail_limits *l, bool have_memcg, bool pid1_same_uid,
                  struct jail_error *e);

/* ---- quota.c: the host user's per-user kernel quotas, shared ---- */
void quota_compute(struct jail_quota *q, unsigned concurrent);
int quota_apply_userns(const struct jail_quota *q, struct jail_error *e); /* pid 1 */
int quota_apply_rlimits(const struct jail_quota *q, struct jail_error *e); /* program */
/* The same on another process (prlimit): pid 1 on an adopted interpreter. */
int quota_apply_rlimits_pid(pid_t pid, const struct jail_quota *q, struct jail_error *e);

/* ---- cg_detect.c: which hierarchy, which controllers, once per process ---- */
struct cg_hierarchy {
	enum jail_cgroup_mode mode;
	char v2_dir[512];                      /* delegated directory (v2) */
	bool v2_memory, v2_pids;               /* controllers enabled for its children */
	char v1_mem[512], v1_pids[512], v1_cpu[512]; /* parent dirs (v1), "" if absent */
	int v1_err;                            /* why the first missing v1 controller is */
	char v1_err_ctrl[16];
	unsigned long seq;
};
int cg_detect(struct cg_hierarchy *cg, const char *cfg_path, bool as_root,
              struct jail_info *info, struct jail_error *e);
/* enum jail_degraded bits of the limits not enforced for the whole run;
 * fills *e (step "cgroup controllers") when any. */
unsigned cg_degraded(const struct cg_hierarchy *cg, const struct jail_info *info, struct jail_error *e);
/* Writes val to dir/file ("cgroup write" on failure). */
int cg_write(const char *dir, const char *file, const char *val, struct jail_error *e);

/* ---- cg_run.c: one run's cgroups ---- */
struct cg_run;
/* Removes per-run cgroups of dead processes; include_self also ours (only
 * at start-up: leftovers of an earlier process with our pid). */
void cg_gc(struct cg_hierarchy *cg, bool include_self);
struct cg_stats {
	uint64_t cpu_us, memory_peak_bytes, oom_kills;
	bool have_cpu, have_peak;
};
/* Per run: make the directories and open the fds for attach and
 * accounting (may be done ahead, jail_idle), then write the limits. */
int cg_run_make(struct cg_hierarchy *cg, struct cg_run **out, struct jail_error *e);
int cg_run_limits(struct cg_run *r, const struct jail_limits *l, struct jail_error *e);
/* The run's attach fds (one per hierarchy: v1 tasks, v2 cgroup.procs):
 * the program writes "0" to each to move itself in (init.c). Returns how
 * many. */
int cg_run_procs_fds(const struct cg_run *r, int fds[3]);
int cg_run_cpu_us(struct cg_run *r, uint64_t *us);
/* Live processes in the run's cgroup (not zombies; -1: unknown). */
int cg_run_nprocs(struct cg_run *r, unsigned *n);
/* Memory charged to the run's cgroup now (-1: unknown). */
int cg_run_mem_current(struct cg_run *r, uint64_t *bytes);
void cg_run_stats(struct cg_run *r, struct cg_stats *s);
void cg_run_kill(struct cg_run *r);
void cg_run_destroy(struct cg_run *r);

/* ---- cpus.c ---- */
/* Gives pid (0: the caller) the CPUs the caller had before
 * jail_pin_home_cpu; nothing if it was never called. */
int cpu_restore(const struct jail *j, pid_t pid, struct jail_error *e);

/* ---- workdir.c ---- */
int wd_write_files(const struct mnt_run *run, const struct jail_spec *spec, uid_t uid,
                   gid_t gid, struct jail_error *e);
/* The work hooks (struct jail_work_hooks) around the job. */
int wd_import(const struct mnt_run *run, const struct jail_work_hooks *h, struct cg_run *cg,
              uid_t uid, gid_t gid, struct jail_error *e);
int wd_export(const struct mnt_run *run, const struct jail_work_hooks *h, struct jail_result *res,
              struct jail_error *e);
int wd_collect(const struct mnt_run *run, const struct jail_spec *spec, struct jail_result *res,
               struct jail_error *e);

/* ---- init.c: how a step reaches its pid 1 ----
 * pid 1 is prepared before its job exists (jail_idle -> launch_warm_start),
 * so the step cannot travel in struct init_args, which pid 1 copies when it
 * is cloned.  It travels in j->handover instead:
 *  - written by sup_run_step (supervise.c) just before launch_step tells
 *    pid 1 to go (a forked pid 1 is cloned after that, and sees it in its
 *    copy of our memory; a CLONE_VM one sees our memory);
 *  - read once by pid 1 (init_main) after the go byte, into its own
 *    init_args.job, where the program (prog_*) finds it; meanwhile the
 *    caller is blocked in read(report), so nobody writes it;
 *  - cleared by sup_run_step once launch_step returns: by then pid 1 has
 *    copied it (its "ready" report comes after) or is dead. */
struct init_handover {
	const struct jail_spec *spec;          /* the job: envp */
	const struct jail_step *step;          /* argv, limits */
	/* A warm interpreter (jail_idle_warm): pid 1 starts it, reports
	 * ready, and waits for one more go byte, with the job's step in
	 * j->handover, whose rlimits it then applies to the interpreter
	 * (prlimit) before reporting ready again. */
	bool warm_start;
	/* The job may use a warm interpreter (jail.c decided it fits). */
	bool warm_job;
	/* With warm_start: the interpreter the zygote forked into the jail
	 * (its pid there, already pid 1's child): pid 1 kills the program it
	 * prepared and adopts this one instead (init.c, init_adopt). */
	pid_t adopt_pid;
};

/* ---- zygote.c: warm python interpreters by fork ---- */
struct zygote {
	pid_t pid;                             /* 0: none */
	int ctl;                               /* SOCK_SEQPACKET to it, -1 */
	unsigned forks;                        /* interpreters it made (ZY_MAX_FORKS) */
	char root[4096];                       /* the tree it runs in */
};
/* Forks an interpreter of ws (ws->fork_boot) into the prepared jail whose
 * pid 1's namespaces are ns_fds (init_args), with the program's stdio and
 * the run's cgroup.procs;
 * starts (or restarts, for another tree) the zygote as needed.  *child is
 * its pid in the jail.  0, or -1 with *e: nothing of it runs. */
int zy_fork(struct jail *j, const char *root, const struct jail_warm_spec *ws, const int ns_fds[6],
            const int stdio[3], const int *cg_fds, int ncg, pid_t *child, struct jail_error *e);
void zy_stop(struct zygote *z);

/* ---- launch.c: a step's pid 1 (init.c), up to its program's start ---- */
struct jail;
struct init_args;
/* A pid 1 started ahead of its step (CLONE_VM mode only; *out stays NULL
 * otherwise): namespaces, id maps, mounts and pivot_root done in root, the
 * program to be attached to cg.  late_program: for the zygote's
 * interpreter, which pid 1 adopts: no program is prepared, and the stage
 * serves nothing else. */
struct launch_warm;
int launch_warm_start(struct jail *j, const char *root, struct mnt_run *run, struct cg_run *cg,
                      bool late_program, struct launch_warm **out, struct jail_error *e);
/* Whether w's pid 1 is still alive (false for NULL). */
bool launch_warm_alive(struct launch_warm *w);
void launch_warm_discard(struct launch_warm **w);
/* launch_warm_discard without waiting for pid 1's end (its namespaces'
 * teardown, the interpreter's exit): pid 1 is sent SIGKILL and its pid
 * returned, for proc_reap later (jail.c: off the request path), with an fd
 * in *keep_fd (or -1) to close only after that reap. */
pid_t launch_warm_abandon(struct launch_warm **w, int *keep_fd);
/* Starts the warm interpreter of ws in the prepared pid 1 w: it runs once
 * this returns 0, blocked on its stdin; on -1 w must be discarded. */
int launch_warm_program(struct jail *j, struct launch_warm *w, const struct jail_warm_spec *ws,
                        struct jail_error *e);
/* The key of w's warm interpreter, NULL when it has none. */
const char *launch_warm_key(const struct launch_warm *w);
/* Whether a job with key and step limits l may use w's interpreter;
 * NULL if so, else why not. */
const char *launch_warm_misfit(const struct launch_warm *w, const char *key,
                               const struct jail_limits *l);
/* The step's pid 1, told to start the program: the prepared one *warm
 * when it fits root and cg (it is used or discarded: *warm is NULL
 * afterwards; warm may be NULL), else a new one.  Returns once the program
 * runs, with our ends of the pipes in *a, pid 1 in *pid and the program's
 * execve errno (0: it runs) in *exec_errno; on failure pid 1 is reaped and
 * every fd closed.  The step itself reaches pid 1 through j->handover. */
int launch_step(struct jail *j, const char *root, struct mnt_run *run, struct cg_run *cg,
                struct launch_warm **warm, struct init_args *a, pid_t *pid, int *exec_errno,
                struct jail_error *e);
void launch_close_fds(struct init_args *a);

/* ---- supervise.c: one step, from its start to its result ---- */
/* Runs one step in cgroup cg (made by the caller, limits written here),
 * with the prepared pid 1 *warm when it fits (it is used or discarded:
 * *warm is NULL afterwards), else a new one.  With defer_reap non-NULL, a
 * program that ended on its own leaves its pid 1 (exiting, tearing its
 * namespaces down) to be reaped later: the pid goes to *defer_reap, or 0
 * if it was reaped here.  *cancelled is set when spec's cancel_fd hung up
 * and the step was killed for it. */
int sup_run_step(struct jail *j, const struct jail_spec *spec, const struct jail_step *step,
                 const char *root, struct mnt_run *run, struct cg_run *cg,
                 struct launch_warm **warm, struct jail_step_result *out, pid_t *defer_reap,
                 bool *cancelled, struct jail_error *e);
/* Reaps a deferred pid 1 (waits for its namespaces to be gone). */
void sup_reap_deferred(pid_t *pid);

/* ---- jail.c ---- */
/* Removes what the last job left and what was made for the next one. */
void job_release_stages(struct jail *j);

/* ---- the per-process context ---- */
struct jail {
	bool as_root;                          /* caller is host root */
	bool use_clone_vm;                     /* false: plain fork (valgrind) */
	uid_t map_uid;                         /* uid the jail's 1000 maps to, in our ns */
	gid_t map_gid;
	char uid_map[64], gid_map[64];
	struct sc_filter seccomp;
	cap_t empty_caps;
	struct cg_hierarchy cg;
	struct mnt_root roots[JAIL_MAX_ROOTS];
	struct jail_info info;
	/* Per-run resources made ahead by jail_idle() (next) or left by the last
	 * job for jail_idle() to remove (done): see jail.c. */
	struct {
		struct mnt_root *root;         /* the RootFS of run: the stage exists */
		struct mnt_run run;
		uint64_t work_bytes, tmp_bytes;
		struct cg_run *cg[JAIL_MAX_STEPS];
		pid_t init_pid;                /* pid 1 still exiting (done only) */
		struct launch_warm *warm;      /* pid 1 prepared for step 0 (next only) */
	} next, done;
	/* A warm interpreter a job did not fit: its pid 1 was killed on the
	 * request path, its reaping and its cgroup's removal wait for
	 * jail_idle() (jail.c, job_stage_bury). */
	struct {
		pid_t init_pid;
		struct cg_run *cg;
		int keep_fd;                   /* -1, or closed once init_pid is reaped */
	} grave;
	void *stack_map;                       /* [guard][pid 1][guard][program] */
	size_t stack_map_len;
	char *stack_top[2];                    /* tops (stacks grow down): pid 1, program */
	uint64_t runs;
	bool warm_fork;                        /* jail_options.warm_fork */
	bool run_detach;                       /* mnt_run_can_detach(), once */
	/* jail_pin_home_cpu: the set we were allowed before, for programs. */
	bool cpus_saved;
	cpu_set_t program_cpus;
	struct zygote zygote;
	/* The step being started, for its pid 1: see struct init_handover. */
	struct init_handover handover;
};

#endif

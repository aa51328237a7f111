/*
 * jail.h - public API of the sandbox-fcgi jail.
 *
 * A `struct jail` is created once per process (jail_new): it detects the
 * cgroup hierarchy, compiles the seccomp filter, and moves the calling process
 * into its own mount and network namespace (and a user namespace when not
 * host root) where the read-only RootFS is prepared.  jail_run() then runs
 * one job: a fresh work dir, one or more steps (e.g. compile, then run), and
 * the output files it left behind.  One job at a time per struct jail; the
 * process must be single-threaded while jail_run() executes.
 *
 * Two kinds of failure are kept apart (see docs/SECURITY.md):
 *  - jail_run() returns 0 when the program ran, whatever it did; its fate is
 *    in jail_result.steps[i].status;
 *  - jail_run() returns -1 when the sandbox itself failed: no user code ran
 *    (or it was killed before its output could be trusted), and
 *    jail_result.error names the step and errno.
 */
#ifndef SANDBOX_JAIL_H
#define SANDBOX_JAIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define JAIL_MAX_STEPS 2
/* The jail's own uid/gid inside its user namespace. */
#define JAIL_INSIDE_UID 1000
#define JAIL_INSIDE_GID 1000
#define JAIL_WORK_DIR "/work"

enum jail_status {
	JAIL_SUCCESS = 0,  /* exited 0 */
	JAIL_ERROR,        /* exited non-zero */
	JAIL_TIMEOUT,      /* wall-clock or CPU-time limit reached */
	JAIL_MEMORY_LIMIT, /* the cgroup OOM killer fired */
	JAIL_KILLED,       /* ended by a signal */
	JAIL_NOT_RUN,      /* an earlier step failed; this one never started */
};

/* These names are the HTTP API's "status" values (docs/API.md): renaming one
 * is an API change. Inline so that pure code (src/api, its tests and
 * fuzzer) needs no jail library. */
static inline const char *jail_status_name(enum jail_status s)
{
	switch (s) {
	case JAIL_SUCCESS: return "success";
	case JAIL_ERROR: return "error";
	case JAIL_TIMEOUT: return "timeout";
	case JAIL_MEMORY_LIMIT: return "memory_limit";
	case JAIL_KILLED: return "killed";
	case JAIL_NOT_RUN: return "not_run";
	}
	return "error";
}

enum jail_cgroup_mode { JAIL_CG_NONE = 0, JAIL_CG_V1, JAIL_CG_V2 };

static inline const char *jail_cgroup_mode_name(enum jail_cgroup_mode m)
{
	return m == JAIL_CG_V2 ? "v2" : m == JAIL_CG_V1 ? "v1" : "none";
}

struct jail_limits {
	uint64_t wall_time_ms;     /* required, > 0 */
	uint64_t cpu_time_ms;      /* 0: same as wall_time_ms */
	uint64_t memory_bytes;     /* cgroup memory (incl. tmpfs pages); 0: none */
	uint64_t max_processes;    /* pids in the jail; 0: none */
	uint64_t max_output_bytes; /* per stream (stdout, stderr); kept, rest drained */
	uint64_t max_file_bytes;   /* RLIMIT_FSIZE */
	uint64_t max_open_files;   /* RLIMIT_NOFILE */
};

enum jail_base { JAIL_IN_WORK = 0, JAIL_IN_TMP };

struct jail_file {
	const char *path;          /* relative, validated by the caller */
	const void *data;
	size_t len;
	bool executable;           /* mode 0755 instead of 0644 */
	enum jail_base base;       /* /work (default) or /tmp */
};

struct jail_step {
	const char *name;          /* "compile", "run"; for reports */
	char *const *argv;         /* argv[0] without '/' is looked up in PATH */
	const void *stdin_data;
	size_t stdin_len;
	struct jail_limits limits;
	const char *cwd;           /* the program's working directory; NULL: /work */
};

struct jail_result;
struct jail_error;

/* Optional hooks for a job whose /work is a session's workspace
 * (docs/SESSIONS.md). Called in the caller's process with an
 * O_RDONLY|O_DIRECTORY fd of the run's /work tmpfs. */
struct jail_work_hooks {
	/* After the mounts are made, before the inputs (spec->files) are
	 * written and before any program starts: copy the workspace in, files
	 * owned by uid:gid (the ids the jail maps to JAIL_INSIDE_UID/GID as
	 * seen from the caller). -1 fails the job (sandbox failure, *e). */
	int (*import)(void *arg, int work_fd, uid_t uid, gid_t gid, struct jail_error *e);
	/* After the last step, once every process of the jail is dead, before
	 * outputs are collected; res->cancelled and res->work_full are set.
	 * -1 fails the job (sandbox failure, *e). */
	int (*export)(void *arg, int work_fd, const struct jail_result *res, struct jail_error *e);
	/* Polled at least every 100 ms while a step runs: true stops the job
	 * as a cancel_fd hang-up does (res->cancelled). */
	bool (*cancelled)(void *arg);
	void *arg;
	/* What the import will write (the workspace's charge, page-rounded),
	 * or UINT64_MAX when unknown. Up to JAIL_IMPORT_INLINE_MAX the copy is
	 * made in the caller and charged to the caller's memory cgroup; above
	 * it, by a child in the run's cgroup, charged to the run (its memory
	 * limit then covers the workspace; one too large fails with ENOMEM). */
	uint64_t import_bytes;
};
#define JAIL_IMPORT_INLINE_MAX (1u << 20)

struct jail_spec {
	const char *rootfs;        /* path of the RootFS tree (may be a symlink) */
	char *const *envp;         /* complete environment of the program */
	const struct jail_file *files;
	size_t nfiles;
	const struct jail_step *steps;
	size_t nsteps;             /* 1..JAIL_MAX_STEPS; a step that fails stops the job */
	uint64_t work_bytes;       /* size of the /work tmpfs */
	uint64_t tmp_bytes;        /* size of /tmp and of /dev/shm, each */
	/* Files to return: glob patterns relative to /work (fnmatch, FNM_PATHNAME). */
	const char *const *outputs;
	size_t noutputs;
	size_t max_output_files;
	uint64_t max_output_file_bytes;
	uint64_t max_output_total_bytes;
	/* Optional: one file under /tmp read back after the last step (handler shim result). */
	const char *result_path;
	uint64_t max_result_bytes;
	/* Optional: stop the job when cancel_fd reports that its peer hung up
	 * (poll POLLRDHUP/POLLHUP/POLLERR; data arriving on it is ignored and
	 * not read).  The responder passes its FastCGI connection: a client
	 * that left, and nginx with it, ends the job at once. */
	bool cancel_on_hangup;
	int cancel_fd;
	/* Optional: live output.  Called by the supervisor with the bytes of
	 * each read() from a step's stdout (stream 1) or stderr (stream 2),
	 * in the order they were read; only bytes within max_output_bytes
	 * (never the drained rest), so what it sees of a stream is exactly,
	 * byte for byte, what jail_step_result.out/err hold at the end.  step
	 * indexes spec->steps.  data points into that buffer: the result's
	 * steps[step].out (or .err) of this jail_run() call, at the offset
	 * equal to the bytes given before for the same step and stream; they
	 * stay there until jail_result_free(), so a consumer may keep
	 * offsets and read them later from the result instead of copying
	 * (the buffer moves as it grows: offsets, not pointers; during the
	 * run only from within the callback).  It runs inside the
	 * supervisor's loop: the wall clock and the cancel fd are looked at
	 * again only when it returns, so it must not block (the responder's
	 * writes only what its socket takes at once: src/fcgi/stream.c).  It
	 * must not call the jail. */
	void (*on_output)(void *arg, size_t step, int stream, const char *data, size_t len);
	void *output_arg;
	/* Optional: /work is a session's workspace (see struct jail_work_hooks). */
	const struct jail_work_hooks *work_hooks;
	/* Input files may replace files already in /work (put there by the
	 * import hook): the leaf is unlinked first, then created O_EXCL. */
	bool replace_inputs;
	/* Optional: the job may be served by the interpreter jail_idle_warm()
	 * started ahead (docs/SECURITY.md, "Warm interpreters") when warm_key
	 * equals the key it was started with and the job fits it (one step,
	 * limits not above the warm ones, its memory use under the job's
	 * limit); warm_frame (the job's argv, environment... in the
	 * bootstrap's format) is then written to its stdin before the step's
	 * stdin_data.  Otherwise the job runs cold, exactly as without these. */
	const char *warm_key;
	const void *warm_frame;
	size_t warm_frame_len;
};

struct jail_buf {
	char *data;                /* malloc'd, NUL-terminated for convenience */
	size_t len;
	bool truncated;
};

struct jail_step_result {
	enum jail_status status;
	int exit_code;             /* valid when the program exited */
	int signal;                /* signal number that ended it, 0 if none */
	bool exec_failed;          /* argv[0] could not be executed (exit 127) */
	int exec_errno;            /* with exec_failed: execve's errno */
	char exec_name[128];       /* argv[0] (cut to fit), to say what failed */
	struct jail_buf out, err;
	uint64_t wall_ms, cpu_ms, memory_peak_kb;
	bool cpu_from_cgroup, memory_from_cgroup; /* else rusage, approximate */
};

struct jail_out_file {
	char *path;                /* relative to /work */
	unsigned char *data;
	size_t len;
};

struct jail_error {
	char step[48];             /* e.g. "mount /proc", "cgroup attach" */
	int err;                   /* errno */
	char detail[160];
};

struct jail_result {
	struct jail_step_result steps[JAIL_MAX_STEPS];
	size_t nsteps;             /* steps that have a result (ran or not run) */
	struct jail_out_file *files;
	size_t nfiles;
	bool files_truncated;      /* a cap on count or size left some out */
	struct jail_buf result;    /* content of spec->result_path, if any */
	bool has_result;
	bool cancelled;            /* cancel_fd hung up: the running step was killed
	                            * (status "killed", SIGKILL), later ones not run;
	                            * also when work_hooks->cancelled said so */
	bool work_full;            /* /work had less than a page free when the last
	                            * step ended: a write probably failed ENOSPC */
	struct jail_error error;   /* set when jail_run() returns -1 */
	bool warm;                 /* served by a warm interpreter (spec->warm_key) */
	const char *cold_reason;   /* with a warm_key but not warm: why (static) */
};

/* How the jail's pid 1 and the program are started (docs/SECURITY.md, "Why
 * pid 1 shares the caller's memory"). */
enum jail_clone_mode {
	JAIL_CLONE_AUTO = 0, /* CLONE_VM, but fork in sanitizer builds (ASan's
	                      * thread-local state would be shared) */
	JAIL_CLONE_VM,       /* clone(CLONE_VM): cheap; pid 1 prepared ahead */
	JAIL_CLONE_FORK,     /* ordinary forks: for valgrind, which cannot follow
	                      * CLONE_VM without threads; nothing prepared ahead */
};

/* The programs (sandbox-run, sandbox-fcgi, the tests and benchmarks) take
 * the mode from this environment variable: "1" fork, any other value
 * CLONE_VM, unset JAIL_CLONE_AUTO.  The library itself reads no
 * environment. */
#define JAIL_CLONE_MODE_ENV "SANDBOX_JAIL_FORK"

static inline enum jail_clone_mode jail_clone_mode_parse(const char *value)
{
	if (!value)
		return JAIL_CLONE_AUTO;
	return value[0] == '1' && value[1] == '\0' ? JAIL_CLONE_FORK : JAIL_CLONE_VM;
}

struct jail_config {
	/* Host uid/gid the jail's JAIL_INSIDE_UID maps to when the caller is host
	 * root (ignored otherwise: an unprivileged caller can map only itself). */
	uid_t host_uid;
	gid_t host_gid;
	/* cgroup v2: a delegated directory; v1: a name under each controller
	 * hierarchy. NULL: detect (see docs/SECURITY.md). */
	const char *cgroup_path;
	/* Fail closed (the default): jail_new() fails unless every limit of
	 * struct jail_limits that a cgroup enforces for the whole run is
	 * enforced so (memory incl. tmpfs pages and no escape into swap,
	 * process count, CPU time of all processes).  allow_degraded_limits
	 * lets it fall back to per-process rlimits instead; jail_info then
	 * says which limits are degraded (docs/SECURITY.md, cgroups). */
	bool allow_degraded_limits;
	/* With allow_degraded_limits: still refuse when no cgroup hierarchy
	 * at all can be used (without it this is implied). */
	bool require_cgroup;
	/* How many jails may run at once under the same host uid (the pool
	 * size): each run gets this share of the host user's kernel quotas
	 * (inotify, pending signals, message queues, locked memory), so that
	 * one run cannot exhaust them for another. 0: 16. */
	unsigned concurrent_jails;
	enum jail_clone_mode clone_mode;
	/* Warm interpreters whose jail_warm_spec has a fork_boot are forked
	 * by a zygote (zygote.c) instead of started; not as host root. */
	bool warm_fork;
};

/* Per-run shares of the host user's kernel quotas (quota.c); UINT64_MAX:
 * unlimited on this host, left as it is. */
struct jail_quota {
	unsigned share;              /* the divisor: concurrent_jails */
	uint64_t inotify_instances, inotify_watches;
	uint64_t sigpending, msgqueue_bytes, memlock_bytes;
};

/* Limits enforced only per process (rlimits) in degraded mode; the names
 * are the /info "limits" keys they weaken. */
enum jail_degraded {
	JAIL_DEGRADED_MEMORY = 1 << 0,    /* RLIMIT_AS per process, no tmpfs pages */
	JAIL_DEGRADED_PROCESSES = 1 << 1, /* RLIMIT_NPROC only */
	JAIL_DEGRADED_CPU = 1 << 2,       /* RLIMIT_CPU per process */
};
#define JAIL_DEGRADED_ALL (JAIL_DEGRADED_MEMORY | JAIL_DEGRADED_PROCESSES | JAIL_DEGRADED_CPU)

static inline const char *jail_degraded_name(enum jail_degraded d)
{
	switch (d) {
	case JAIL_DEGRADED_MEMORY: return "memory_mb";
	case JAIL_DEGRADED_PROCESSES: return "max_processes";
	case JAIL_DEGRADED_CPU: return "cpu_time_ms";
	}
	return "?";
}

/* What is actually enforced; filled by jail_new(). */
struct jail_info {
	enum jail_cgroup_mode cgroup;
	bool memory_limit, pids_limit, cpu_accounting, memory_peak;
	bool userns_owned;         /* caller was not host root: own userns */
	bool warm_fork;            /* jail_options.warm_fork in effect (not as root) */
	bool prepares_ahead;       /* jail_idle() prepares the next job's pid 1
	                            * (not in fork mode: JAIL_CLONE_FORK) */
	bool limits_degraded;      /* degraded != 0: only with allow_degraded_limits */
	unsigned degraded;         /* enum jail_degraded bits */
	bool swap_limited;         /* memory limit covers swap (or no swap is on) */
	struct jail_quota quota;   /* each run's share of the host user's quotas */
	char cgroup_dir[512];      /* where per-run cgroups are made (v2) or name (v1) */
	char seccomp_policy[32];
};

struct jail;

/* Once per process. Returns NULL and fills *err on failure. */
struct jail *jail_new(const struct jail_config *cfg, struct jail_error *err);
void jail_free(struct jail *j);
const struct jail_info *jail_get_info(const struct jail *j);
/* Pins the caller to one CPU of the set it is allowed, the n-th (modulo
 * the set's size), before its first job: the processes it starts to
 * prepare and supervise runs stay there with it, and every program gets
 * the whole set back before it runs (src/jail/cpus.c says why).  The home
 * CPU goes to *cpu.  A pool gives each responder its own n. */
int jail_pin_home_cpu(struct jail *j, unsigned n, int *cpu, struct jail_error *err);

/* Runs one job. See the comment at the top for the return value.  The
 * job's tmpfs mounts and cgroups are removed by the next jail_idle(),
 * jail_run() or jail_free(), whichever comes first. */
int jail_run(struct jail *j, const struct jail_spec *spec, struct jail_result *res);
/* Between jobs (a responder: after the answer is sent): removes the last
 * job's mounts and cgroups and makes fresh ones for the next job, and
 * (CLONE_VM mode) the next job's pid 1, so that work stays off the next
 * request's path.  Optional; 0 or -1 with *err (the next jail_run() then
 * does what is missing itself). */
int jail_idle(struct jail *j, struct jail_error *err);

/* A warm interpreter: what jail_idle_warm() starts in the next job's jail
 * (namespaces, cgroup, rlimits, credentials, seccomp: everything a
 * program gets), blocked reading its job from stdin.  The strings are
 * only read during the call, except key, which is copied. */
struct jail_warm_spec {
	const char *key;           /* a job's spec->warm_key must equal it */
	const char *rootfs;
	char *const *argv;         /* the interpreter and its bootstrap */
	char *const *envp;
	struct jail_limits limits; /* while it waits; a job's may only be lower */
	uint64_t work_bytes, tmp_bytes;
	const char *cwd;           /* where it starts; NULL: /work (its bootstrap
	                            * moves to /work once it has its job) */
	/* Non-NULL: the text of a fork server of such interpreters (python:
	 * `argv[0] -`, the text on stdin), used when jail_options.warm_fork
	 * is on (src/jail/zygote.c). */
	const char *fork_boot;
};
/* jail_idle(), and then a warm interpreter for the next job (w NULL: just
 * jail_idle()).  Only in CLONE_VM mode with every limit enforced by
 * cgroups (no degraded limits); otherwise it is jail_idle().  Keeps an
 * interpreter already waiting with the same key.  -1 with *err when the
 * interpreter could not be started: nothing of it is kept, the next job
 * runs cold. */
int jail_idle_warm(struct jail *j, const struct jail_warm_spec *w, struct jail_error *err);
/* The key of the waiting warm interpreter, or NULL. */
const char *jail_warm_key(const struct jail *j);
/* Whether jail_idle_warm() can start warm interpreters here (CLONE_VM
 * mode, every limit a cgroup's); false: it is jail_idle(). */
bool jail_can_warm(const struct jail *j);
void jail_result_free(struct jail_result *res);

/* A cheap real self-check for /health: run /bin/true in the jail. */
int jail_selfcheck(struct jail *j, const char *rootfs, struct jail_error *err);

#endif

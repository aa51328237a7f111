/*
 * cg_run.c - the cgroups of one run, under the hierarchy cg_detect.c found:
 * v2 a leaf D/jail-<pid>-<n>, v1 <ctrl>/<name>/<pid>-<n> per controller.
 * A fresh cgroup per run gives exact accounting (peak memory, OOM kills,
 *   CPU) without resets.  The pid in the name lets the next process collect
 *   the cgroups of one that was killed (cg_gc).
 */
#include "jail/jail_private.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define CG_MAX_DIRS 3

struct cg_run {
	enum jail_cgroup_mode mode;
	int n;                              /* directories made */
	char dirs[CG_MAX_DIRS][PATH_MAX];
	int procs_fd[CG_MAX_DIRS];
	int mem_dirfd, cpu_dirfd, pids_dirfd, kill_fd;
	int mem_idx, pids_idx;              /* which of dirs[] (v1) */
	bool memsw;                         /* v1 memsw / v2 swap.max file exists */
	bool v2_memory, v2_pids;
};

/* ---------- garbage collection of runs whose owner died ---------- */

/* A dead owner's run may still be dying: its pid 1 gets SIGKILL from
 * PR_SET_PDEATHSIG only once the owner is gone, and a replacement
 * responder starts within milliseconds, so rmdir can meet a cgroup whose
 * processes have not exited yet (EBUSY), and nothing would try again until
 * 256 runs later.  Kill what is left (it belongs to a job nobody waits
 * for) and retry for a short, bounded while. */
#define CG_GC_TRIES 50
#define CG_GC_WAIT_US 10000

static void cg_gc_kill(const char *dir)
{
	char p[PATH_MAX + 16];
	snprintf(p, sizeof p, "%s/cgroup.kill", dir);
	int fd = open(p, O_WRONLY | O_CLOEXEC);
	if (fd >= 0) {                     /* v2, Linux 5.14+ */
		(void)!write(fd, "1", 1);
		close(fd);
		return;
	}
	snprintf(p, sizeof p, "%s/cgroup.procs", dir);
	FILE *f = fopen(p, "re");
	if (!f)
		return;
	long pid;
	while (fscanf(f, "%ld", &pid) == 1)
		if (pid > 0)
			kill((pid_t)pid, SIGKILL);
	fclose(f);
}

static void cg_gc_remove(const char *dir)
{
	for (int i = 0; i < CG_GC_TRIES; i++) {
		if (rmdir(dir) == 0 || errno != EBUSY)
			return;
		cg_gc_kill(dir);
		usleep(CG_GC_WAIT_US);
	}
}

static void cg_gc_dir(const char *parent, const char *prefix, bool include_self)
{
	DIR *d = opendir(parent);
	if (!d)
		return;
	struct dirent *de;
	size_t plen = strlen(prefix);
	while ((de = readdir(d))) {
		if (strncmp(de->d_name, prefix, plen) != 0)
			continue;
		char *end;
		long pid = strtol(de->d_name + plen, &end, 10);
		if (end == de->d_name + plen || *end != '-' || pid <= 0)
			continue;
		/* Ours from an earlier life of this pid, or of a dead process. */
		if ((include_self && pid == getpid()) || (pid != getpid() && kill((pid_t)pid, 0) < 0 && errno == ESRCH)) {
			char p[PATH_MAX];
			if ((size_t)snprintf(p, sizeof p, "%s/%s", parent, de->d_name) < sizeof p)
				cg_gc_remove(p);
		}
	}
	closedir(d);
}

void cg_gc(struct cg_hierarchy *cg, bool include_self)
{
	if (cg->mode == JAIL_CG_V2) {
		cg_gc_dir(cg->v2_dir, "jail-", include_self);
	} else if (cg->mode == JAIL_CG_V1) {
		const char *dirs[] = { cg->v1_mem, cg->v1_pids, cg->v1_cpu };
		for (size_t i = 0; i < 3; i++)
			if (dirs[i][0])
				cg_gc_dir(dirs[i], "", include_self);
	}
}

/* ---------- one run ---------- */

static int cg_run_mkdir(struct cg_run *r, const char *parent, const char *name, struct jail_error *e)
{
	char *dir = r->dirs[r->n];
	if ((size_t)snprintf(dir, PATH_MAX, "%s/%s", parent, name) >= PATH_MAX)
		return util_fail(e, "cgroup create", ENAMETOOLONG, NULL);
	if (mkdir(dir, 0755) < 0)
		return util_fail(e, "cgroup create", errno, "%s", dir);
	/* The attach file.  On v1 it is "tasks": a process moves itself by
	 * writing "0", and a single thread moving itself skips the
	 * write side of the global cgroup_threadgroup_rwsem, whose every
	 * uncontended take waits a whole RCU grace period (rcu_sync_enter:
	 * about 9 ms on the test guest, against 0.03 ms for "tasks").  That
	 * wait left both CPUs idle under saturation (docs/PERFORMANCE.md,
	 * "Cgroup attach after a pause").  Every process that attaches is
	 * single-threaded (pid 1's program before its execve, a zygote's
	 * fork, a session's copy-in helper; pid 1 itself never enters), so
	 * the thread is the whole process.  v2 has only cgroup.procs for domain cgroups. */
	char p[PATH_MAX + 16];
	snprintf(p, sizeof p, "%s/%s", dir, r->mode == JAIL_CG_V1 ? "tasks" : "cgroup.procs");
	r->procs_fd[r->n] = open(p, O_WRONLY | O_CLOEXEC);
	r->n++;
	if (r->procs_fd[r->n - 1] < 0)
		return util_fail(e, "cgroup create", errno, "%s", p);
	return 0;
}

static int cg_open_dir(const char *dir, int *fd, struct jail_error *e)
{
	*fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	return *fd < 0 ? util_fail(e, "cgroup open", errno, "%s", dir) : 0;
}

static int cg_limits_v1(struct cg_run *r, const struct jail_limits *l, struct jail_error *e)
{
	char v[32];
	if (r->mem_dirfd >= 0 && l->memory_bytes) {
		snprintf(v, sizeof v, "%llu", (unsigned long long)l->memory_bytes);
		if (cg_write(r->dirs[r->mem_idx], "memory.limit_in_bytes", v, e) < 0)
			return -1;
		/* With swap accounting, also cap memory+swap: no escape into swap. */
		if (r->memsw && cg_write(r->dirs[r->mem_idx], "memory.memsw.limit_in_bytes", v, e) < 0)
			return -1;
	}
	if (r->pids_dirfd >= 0 && l->max_processes) {
		snprintf(v, sizeof v, "%llu", (unsigned long long)l->max_processes);
		if (cg_write(r->dirs[r->pids_idx], "pids.max", v, e) < 0)
			return -1;
	}
	return 0;
}

static int cg_make_v1(struct cg_hierarchy *cg, struct cg_run *r, const char *name, struct jail_error *e)
{
	if (cg->v1_mem[0]) {
		r->mem_idx = r->n;
		if (cg_run_mkdir(r, cg->v1_mem, name, e) < 0 || cg_open_dir(r->dirs[r->n - 1], &r->mem_dirfd, e) < 0)
			return -1;
		r->memsw = faccessat(r->mem_dirfd, "memory.memsw.limit_in_bytes", W_OK, 0) == 0;
	}
	if (cg->v1_pids[0]) {
		r->pids_idx = r->n;
		if (cg_run_mkdir(r, cg->v1_pids, name, e) < 0 || cg_open_dir(r->dirs[r->n - 1], &r->pids_dirfd, e) < 0)
			return -1;
	}
	if (cg->v1_cpu[0]) {
		if (cg_run_mkdir(r, cg->v1_cpu, name, e) < 0 || cg_open_dir(r->dirs[r->n - 1], &r->cpu_dirfd, e) < 0)
			return -1;
	}
	return 0;
}

static int cg_make_v2(struct cg_hierarchy *cg, struct cg_run *r, const char *name, struct jail_error *e)
{
	char leaf[64], p[PATH_MAX + 16];
	snprintf(leaf, sizeof leaf, "jail-%s", name);
	if (cg_run_mkdir(r, cg->v2_dir, leaf, e) < 0)
		return -1;
	const char *dir = r->dirs[0];
	if (cg_open_dir(dir, &r->mem_dirfd, e) < 0)
		return -1;
	r->cpu_dirfd = fcntl(r->mem_dirfd, F_DUPFD_CLOEXEC, 0);
	r->v2_memory = cg->v2_memory;
	r->v2_pids = cg->v2_pids;
	r->memsw = faccessat(r->mem_dirfd, "memory.swap.max", W_OK, 0) == 0;
	snprintf(p, sizeof p, "%s/cgroup.kill", dir);
	r->kill_fd = open(p, O_WRONLY | O_CLOEXEC); /* Linux >= 5.14; optional */
	return 0;
}

static int cg_limits_v2(struct cg_run *r, const struct jail_limits *l, struct jail_error *e)
{
	char v[32];
	const char *dir = r->dirs[0];
	if (l->memory_bytes && r->v2_memory) {
		snprintf(v, sizeof v, "%llu", (unsigned long long)l->memory_bytes);
		if (cg_write(dir, "memory.max", v, e) < 0)
			return -1;
		if (r->memsw && cg_write(dir, "memory.swap.max", "0", e) < 0)
			return -1;
	}
	if (l->max_processes && r->v2_pids) {
		snprintf(v, sizeof v, "%llu", (unsigned long long)l->max_processes);
		if (cg_write(dir, "pids.max", v, e) < 0)
			return -1;
	}
	return 0;
}

int cg_run_make(struct cg_hierarchy *cg, struct cg_run **out, struct jail_error *e)
{
	*out = NULL;
	if (cg->mode == JAIL_CG_NONE)
		return 0;
	struct cg_run *r = calloc(1, sizeof *r);
	if (!r)
		return util_fail(e, "cgroup create", ENOMEM, NULL);
	r->mode = cg->mode;
	r->mem_dirfd = r->cpu_dirfd = r->pids_dirfd = r->kill_fd = -1;
	for (int i = 0; i < CG_MAX_DIRS; i++)
		r->procs_fd[i] = -1;
	char name[48];
	snprintf(name, sizeof name, "%ld-%lu", (long)getpid(), ++cg->seq);
	int rc = cg->mode == JAIL_CG_V2 ? cg_make_v2(cg, r, name, e) : cg_make_v1(cg, r, name, e);
	if (rc < 0) {
		cg_run_destroy(r);
		return -1;
	}
	*out = r;
	return 0;
}

int cg_run_limits(struct cg_run *r, const struct jail_limits *l, struct jail_error *e)
{
	if (!r)
		return 0;
	return r->mode == JAIL_CG_V2 ? cg_limits_v2(r, l, e) : cg_limits_v1(r, l, e);
}

int cg_run_procs_fds(const struct cg_run *r, int fds[3])
{
	if (!r)
		return 0;
	for (int i = 0; i < r->n; i++)
		fds[i] = r->procs_fd[i];
	return r->n;
}

int cg_run_cpu_us(struct cg_run *r, uint64_t *us)
{
	if (!r || r->cpu_dirfd < 0)
		return -1;
	if (r->mode == JAIL_CG_V1) {
		uint64_t ns;
		if (file_read_u64(r->cpu_dirfd, "cpuacct.usage", &ns) < 0)
			return -1;
		*us = ns / 1000;
		return 0;
	}
	return file_read_key_u64(r->cpu_dirfd, "cpu.stat", "usage_usec", us);
}

int cg_run_nprocs(struct cg_run *r, unsigned *n)
{
	char buf[4096];
	if (!r || r->mem_dirfd < 0)
		return -1;
	int fd = openat(r->mem_dirfd, "cgroup.procs", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	ssize_t len = read(fd, buf, sizeof buf);
	close(fd);
	if (len < 0 || (size_t)len == sizeof buf)
		return -1;
	*n = 0;
	for (ssize_t i = 0; i < len; i++)
		*n += buf[i] == '\n';
	return 0;
}

int cg_run_mem_current(struct cg_run *r, uint64_t *bytes)
{
	if (!r || r->mem_dirfd < 0)
		return -1;
	return file_read_u64(r->mem_dirfd, r->mode == JAIL_CG_V1 ? "memory.usage_in_bytes" : "memory.current",
	                     bytes);
}

void cg_run_stats(struct cg_run *r, struct cg_stats *s)
{
	memset(s, 0, sizeof *s);
	if (!r)
		return;
	s->have_cpu = cg_run_cpu_us(r, &s->cpu_us) == 0;
	if (r->mem_dirfd < 0)
		return;
	if (r->mode == JAIL_CG_V1) {
		s->have_peak = file_read_u64(r->mem_dirfd, "memory.max_usage_in_bytes",
		                             &s->memory_peak_bytes) == 0;
		file_read_key_u64(r->mem_dirfd, "memory.oom_control", "oom_kill", &s->oom_kills);
	} else {
		s->have_peak = file_read_u64(r->mem_dirfd, "memory.peak", &s->memory_peak_bytes) == 0;
		file_read_key_u64(r->mem_dirfd, "memory.events", "oom_kill", &s->oom_kills);
	}
}

void cg_run_kill(struct cg_run *r)
{
	if (r && r->kill_fd >= 0)
		(void)!write(r->kill_fd, "1", 1);
}

void cg_run_destroy(struct cg_run *r)
{
	if (!r)
		return;
	int fds[] = { r->mem_dirfd, r->cpu_dirfd, r->pids_dirfd, r->kill_fd };
	for (size_t i = 0; i < sizeof fds / sizeof fds[0]; i++)
		fd_close(fds[i]);
	for (int i = r->n - 1; i >= 0; i--) {
		fd_close(r->procs_fd[i]);
		/* The last task may still be leaving the cgroup after its parent
		 * reaped it; rmdir says EBUSY for that short while. */
		for (int tries = 0; rmdir(r->dirs[i]) < 0 && errno == EBUSY && tries < 200; tries++)
			usleep(500);
	}
	free(r);
}

/*
 * jail_loop - calls jail_run() many times in one long-lived process, as the
 * responder does (jail_idle() after each job).  Uses:
 *
 *   jail_loop leak ROOTFS N      mixes normal, timeout, fork-bomb, crash,
 *                                daemon and output-flood runs; prints the
 *                                counts of our fds, our mounts, jail cgroups,
 *                                host processes and /tmp entries before and
 *                                after, and exits 1 if any differ
 *   jail_loop nest ROOTFS CMD [ARG...]
 *                                holds a jail with a prepared stage, then runs
 *                                CMD (e.g. sandbox-run) under it: a jail started
 *                                from inside another jail-owning process
 *   jail_loop warm ROOTFS CMD [ARG...]
 *                                runs CMD in a jail prepared ahead by
 *                                jail_idle(), then jobs whose prepared pid 1
 *                                was killed or does not fit (run_warm)
 *   jail_loop zygote ROOTFS N    N Python runs served warm, forked by the
 *                                zygote as the service user (run_zygote)
 *   jail_loop cancel ROOTFS - [HOSTBIN ARG...]
 *                                a job stopped by its cancel_fd hanging up;
 *                                the job is HOSTBIN (copied into /work) with
 *                                its ARGs if given, else sleep 30
 *   jail_loop stream ROOTFS - CMD [ARG...]
 *                                runs CMD with a live output callback
 *                                (jail_spec.on_output) and prints what it
 *                                saw against the step's kept output
 *
 * Every mode: with SANDBOX_TEST_CGROUP set, the jail uses that cgroup (v2
 * dir or v1 name) and requires it; JAIL_LOOP_ALLOW_DEGRADED=1 allows
 * degraded (per-process) limits instead (an unprivileged caller without
 * delegation); JAIL_LOOP_TMP_READY=1: the caller already gave the leak
 * test a private /tmp (tests/jail, service mode: the caller is root, we
 * are not).
 *   jail_loop seq ROOTFS N CMD [ARG...]
 *                                runs CMD N times in a row, printing
 *                                "--- run I STATUS" and each run's stdout
 *   jail_loop bench ROOTFS N CMD [ARG...]
 *                                runs CMD N times and prints per-run wall
 *                                times in microseconds, one per line
 *                                (docs/PERFORMANCE.md); JAIL_BENCH_PAUSE_MS
 *                                idles that long before each run
 */
#include <dirent.h>
#include <sched.h>
#include <sys/mount.h>
#include <stdbool.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/wait.h>
#include <sys/socket.h>
#include <signal.h>
#include <stdint.h>

#include "api/warm.h"
#include "jail/jail.h"

static long count_dir(const char *path, const char *prefix, bool dirs_only)
{
	DIR *d = opendir(path);
	if (!d)
		return -1;
	long n = 0;
	struct dirent *de;
	size_t plen = prefix ? strlen(prefix) : 0;
	while ((de = readdir(d)))
		if (de->d_name[0] != '.' && (!prefix || strncmp(de->d_name, prefix, plen) == 0) &&
		    (!dirs_only || de->d_type == DT_DIR))
			n++;
	closedir(d);
	return n;
}

static long count_lines(const char *path)
{
	FILE *f = fopen(path, "re");
	if (!f)
		return -1;
	long n = 0;
	int c;
	while ((c = fgetc(f)) != EOF)
		n += c == '\n';
	fclose(f);
	return n;
}

/* Per-run cgroups of this process, where the jail says it makes them:
 * v1 <ctrl>/<name>/<pid>-<n>, v2 D/jail-<pid>-<n>.  Only ours: other
 * processes on the machine may be running jails too. */
static long count_jail_cgroups(const struct jail_info *info)
{
	static const char *const ctrls[] = { "memory", "pids", "cpuacct" };
	char mine[40], dir[700];
	long n = 0, c;
	if (info->cgroup == JAIL_CG_V2) {
		snprintf(mine, sizeof mine, "jail-%d-", (int)getpid());
		c = count_dir(info->cgroup_dir, mine, true);
		return c > 0 ? c : 0;
	}
	if (info->cgroup != JAIL_CG_V1)
		return 0;
	snprintf(mine, sizeof mine, "%d-", (int)getpid());
	for (size_t i = 0; i < 3; i++) {
		snprintf(dir, sizeof dir, "/sys/fs/cgroup/%s/%s", ctrls[i], info->cgroup_dir);
		c = count_dir(dir, mine, true);
		n += c > 0 ? c : 0;
	}
	return n;
}

/* Every process of a jail descends from its pid 1, our child (orphans are
 * reparented to pid 1, never out of the namespace), so counting our
 * descendants counts every jail process still alive.  Host-wide counts
 * would be noisy on a shared machine. */
static long count_descendants(void)
{
	enum { MAXP = 1 << 16 };
	static int ppid[MAXP + 1];
	static int pids[MAXP];
	int np = 0;
	DIR *d = opendir("/proc");
	struct dirent *de;
	while (d && (de = readdir(d)) && np < MAXP) {
		int pid = atoi(de->d_name);
		if (pid <= 0 || pid > MAXP)
			continue;
		char path[64], buf[512];
		snprintf(path, sizeof path, "/proc/%d/stat", pid);
		FILE *f = fopen(path, "re");
		if (!f)
			continue;
		if (fgets(buf, sizeof buf, f)) {
			char *rp = strrchr(buf, ')');
			int pp = 0;
			if (rp && sscanf(rp + 2, "%*c %d", &pp) == 1) {
				ppid[pid] = pp;
				pids[np++] = pid;
			}
		}
		fclose(f);
	}
	if (d)
		closedir(d);
	long n = 0;
	int self = getpid();
	for (int i = 0; i < np; i++)
		for (int p = ppid[pids[i]], hops = 0; p > 0 && p <= MAXP && hops < 64; p = ppid[p], hops++)
			if (p == self) {
				n++;
				break;
			}
	return n;
}

struct counts { long fds, mounts, cgroups, procs, tmp; };

static void snapshot(struct counts *c, const struct jail *j)
{
	c->fds = count_dir("/proc/self/fd", NULL, false);
	c->mounts = count_lines("/proc/self/mountinfo");
	c->cgroups = count_jail_cgroups(jail_get_info(j));
	c->procs = count_descendants();
	c->tmp = count_dir("/tmp", NULL, false);
}

static struct jail_step make_step(char **argv, uint64_t wall_ms)
{
	struct jail_step s = { .name = "run", .argv = argv };
	/* JAIL_LOOP_MAX_OPEN_FILES=0: no fd limit (valgrind cannot set one) */
	const char *nofile = getenv("JAIL_LOOP_MAX_OPEN_FILES");
	s.limits = (struct jail_limits){ .wall_time_ms = wall_ms, .memory_bytes = 64u << 20,
		.max_processes = 16, .max_output_bytes = 64 * 1024, .max_file_bytes = 1u << 20,
		.max_open_files = nofile ? strtoull(nofile, NULL, 10) : 64 };
	return s;
}

static int run_leak(struct jail *j, const char *rootfs, long n)
{
	struct jail_error e;
	static char *env[] = { "PATH=/usr/bin:/bin", "HOME=/work", "LANG=C.UTF-8", NULL };
	static char *cmds[][4] = {
		{ "/bin/sh", "-c", "echo ok; echo x > /work/out.txt", NULL },
		{ "/bin/sh", "-c", "while :; do :; done", NULL },                              /* timeout */
		{ "/bin/sh", "-c", "f() { f | f & }; f; sleep 2", NULL },                      /* fork bomb */
		{ "/bin/sh", "-c", "kill -SEGV $$", NULL },                                    /* crash */
		{ "/bin/sh", "-c", "(setsid sleep 100 &); sleep 100 & exec true", NULL },      /* daemons */
		{ "/bin/sh", "-c", "head -c 10000000 /dev/zero", NULL },                       /* flood */
	};
	const char *outputs[] = { "*.txt" };
	struct counts before, after;
	struct jail_result res;
	/* One warm-up run: the first prepares the RootFS (mounts kept by design). */
	struct jail_step s0 = make_step(cmds[0], 2000);
	struct jail_spec spec0 = { .rootfs = rootfs, .envp = env, .steps = &s0, .nsteps = 1 };
	if (jail_run(j, &spec0, &res) == 0)
		jail_result_free(&res);
	jail_idle(j, NULL);
	snapshot(&before, j);
	long fails = 0, by_status[6] = { 0 };
	for (long i = 0; i < n; i++) {
		size_t k = (size_t)i % (sizeof cmds / sizeof cmds[0]);
		struct jail_step s = make_step(cmds[k], k == 1 || k == 2 ? 300 : 3000);
		struct jail_spec spec = { .rootfs = rootfs, .envp = env, .steps = &s, .nsteps = 1,
			.outputs = outputs, .noutputs = 1, .max_output_files = 4,
			.max_output_file_bytes = 4096, .max_output_total_bytes = 8192 };
		if (jail_run(j, &spec, &res) < 0) {
			fprintf(stderr, "run %ld: sandbox failure at %s: %s\n", i, res.error.step, strerror(res.error.err));
			fails++;
			continue;
		}
		by_status[res.steps[0].status]++;
		jail_result_free(&res);
		/* as the responder does once the answer is out */
		if (jail_idle(j, &e) < 0) {
			fprintf(stderr, "run %ld: jail_idle failed at %s: %s\n", i, e.step, strerror(e.err));
			fails++;
		}
	}
	usleep(200 * 1000);
	snapshot(&after, j);
	printf("runs %ld sandbox_failures %ld success %ld error %ld timeout %ld memory_limit %ld killed %ld\n",
	       n, fails, by_status[0], by_status[1], by_status[2], by_status[3], by_status[4]);
	printf("fds %ld %ld\nmounts %ld %ld\ncgroups %ld %ld\nprocs %ld %ld\ntmp %ld %ld\n",
	       before.fds, after.fds, before.mounts, after.mounts, before.cgroups, after.cgroups,
	       before.procs, after.procs, before.tmp, after.tmp);
	return fails || before.fds != after.fds || before.mounts != after.mounts ||
	       before.cgroups != after.cgroups || before.procs != after.procs ||
	       before.tmp != after.tmp;
}

static int run_bench(struct jail *j, const char *rootfs, long n, char **argv)
{
	static char *env[] = { "PATH=/usr/bin:/bin", "HOME=/work", "LANG=C.UTF-8", NULL };
	struct jail_step s = make_step(argv, 10000);
	s.limits.memory_bytes = 256u << 20;
	struct jail_spec spec = { .rootfs = rootfs, .envp = env, .steps = &s, .nsteps = 1 };
	/* JAIL_BENCH_PAUSE_MS: idle time before each job (a user's think
	 * time), after jail_idle() made the next one ready. */
	const char *pause = getenv("JAIL_BENCH_PAUSE_MS");
	long pause_us = pause ? atol(pause) * 1000L : 0;
	for (long i = 0; i < n; i++) {
		struct timespec a, b;
		if (pause_us > 0)
			usleep((useconds_t)pause_us);
		struct jail_result res;
		clock_gettime(CLOCK_MONOTONIC, &a);
		int rc = jail_run(j, &spec, &res);
		clock_gettime(CLOCK_MONOTONIC, &b);
		if (rc < 0 || res.steps[0].status != JAIL_SUCCESS) {
			fprintf(stderr, "run %ld failed: %s %s\n", i, rc < 0 ? res.error.step : "status",
			        rc < 0 ? strerror(res.error.err) : jail_status_name(res.steps[0].status));
			return 1;
		}
		jail_result_free(&res);
		jail_idle(j, NULL);
		printf("%ld\n", (long)((b.tv_sec - a.tv_sec) * 1000000L + (b.tv_nsec - a.tv_nsec) / 1000));
	}
	return 0;
}

/* N jobs of CMD in a row on one struct jail, as a responder runs them:
 * prints each job's stdout after a line "--- run I STATUS", so a test can
 * look for anything one run left for the next (network state, files...). */
static int run_seq(struct jail *j, const char *rootfs, long n, char **argv)
{
	static char *env[] = { "PATH=/usr/bin:/bin", "HOME=/work", "LANG=C.UTF-8", NULL };
	struct jail_step s = make_step(argv, 20000);
	s.limits.memory_bytes = 256u << 20;
	struct jail_spec spec = { .rootfs = rootfs, .envp = env, .steps = &s, .nsteps = 1 };
	for (long i = 0; i < n; i++) {
		struct jail_result res;
		if (jail_run(j, &spec, &res) < 0) {
			fprintf(stderr, "run %ld: %s: %s\n", i, res.error.step, strerror(res.error.err));
			return 1;
		}
		printf("--- run %ld %s\n%s", i, jail_status_name(res.steps[0].status),
		       res.steps[0].out.data);
		fflush(stdout);
		jail_result_free(&res);
		jail_idle(j, NULL);
	}
	return 0;
}

/* The leak test counts /tmp entries; on a shared machine others write
 * there too, so the test gets a /tmp of its own: whatever appears in it
 * came from this process, i.e. from the jail library. */
static int private_tmp(void)
{
	if (unshare(CLONE_NEWNS) < 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0 ||
	    mount("tmpfs", "/tmp", "tmpfs", MS_NOSUID | MS_NODEV, "size=16m,mode=1777") < 0) {
		perror("jail_loop: private /tmp");
		return -1;
	}
	return 0;
}

static int run_nest(struct jail *j, const char *rootfs, char **cmd)
{
	static char *env[] = { "PATH=/usr/bin:/bin", NULL };
	char *t[] = { "/bin/true", NULL };
	struct jail_step s = make_step(t, 5000);
	struct jail_spec spec = { .rootfs = rootfs, .envp = env, .steps = &s, .nsteps = 1 };
	struct jail_result res;
	if (jail_run(j, &spec, &res) < 0)
		return 1;
	jail_result_free(&res);
	jail_idle(j, NULL);      /* leaves fresh tmpfs mounted on the RootFS */
	pid_t p = fork();
	if (p == 0) {
		execv(cmd[0], cmd);
		_exit(127);
	}
	int st;
	waitpid(p, &st, 0);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 1;
}

/* The prepared pid 1 (jail_idle) is our only child between jobs. */
static long count_children(void)
{
	char path[64], buf[256];
	snprintf(path, sizeof path, "/proc/self/task/%d/children", (int)getpid());
	FILE *f = fopen(path, "re");
	long n = 0;
	if (f) {
		size_t len = fread(buf, 1, sizeof buf - 1, f);
		buf[len] = '\0';
		for (char *t = strtok(buf, " \n"); t; t = strtok(NULL, " \n"))
			n++;
		fclose(f);
	}
	return n;
}

static pid_t first_child(void)
{
	char path[64];
	snprintf(path, sizeof path, "/proc/self/task/%d/children", (int)getpid());
	FILE *f = fopen(path, "re");
	long pid = 0;
	if (f) {
		if (fscanf(f, "%ld", &pid) != 1)
			pid = 0;
		fclose(f);
	}
	return (pid_t)pid;
}

static int warm_job(struct jail *j, const char *rootfs, char **cmd, uint64_t work_bytes,
                    const char *label)
{
	static char *env[] = { "PATH=/usr/bin:/bin", "HOME=/work", "LANG=C.UTF-8", NULL };
	struct jail_step s = make_step(cmd, 10000);
	struct jail_spec spec = { .rootfs = rootfs, .envp = env, .steps = &s, .nsteps = 1,
	                          .work_bytes = work_bytes };
	struct jail_result res;
	printf("%s prepared_before %ld\n", label, count_children());
	if (jail_run(j, &spec, &res) < 0) {
		printf("%s sandbox_failure %s %s\n", label, res.error.step, strerror(res.error.err));
		return 1;
	}
	printf("%s status %s\n", label, jail_status_name(res.steps[0].status));
	printf("%s stdout-begin\n%s%s stdout-end\n", label, res.steps[0].out.data, label);
	jail_result_free(&res);
	struct jail_error e;
	if (jail_idle(j, &e) < 0) {
		printf("%s idle_failure %s %s\n", label, e.step, strerror(e.err));
		return 1;
	}
	return 0;
}

/* The jobs a responder's prepared pid 1 serves: the first job (cold) plants
 * files, the second runs CMD in the jail prepared by jail_idle(), the third
 * finds its prepared pid 1 killed while it waited, the fourth asks for
 * another /work size than was prepared.  Prints each job's status and
 * output, and how many prepared pid 1 were waiting before it. */
static int run_warm(struct jail *j, const char *rootfs, char **cmd)
{
	char *plant[] = { "/bin/sh", "-c", "echo s > /work/planted; echo s > /tmp/planted; "
	                  "echo s > /dev/shm/planted; sleep 100 & exit 0", NULL };
	char *probe[] = { "/bin/sh", "-c", "ls -A /work /tmp /dev/shm | tr '\\n' ' '; echo", NULL };
	printf("prepares_ahead %d\n", (int)jail_get_info(j)->prepares_ahead);
	int rc = warm_job(j, rootfs, plant, 0, "plant");
	rc |= warm_job(j, rootfs, cmd, 0, "warm");
	pid_t p = first_child();
	if (p > 0)
		kill(p, SIGKILL);
	usleep(100 * 1000);
	rc |= warm_job(j, rootfs, probe, 0, "killed");
	rc |= warm_job(j, rootfs, probe, 8u << 20, "resized");
	printf("children_before_free %ld\n", count_children());
	jail_free(j);
	printf("children_after_free %ld\n", count_children());
	exit(rc);               /* j is freed */
}

/* The bootstrap's frame (src/api/warm.c): "LEN\n", then argc, argv...,
 * envc, env..., each ending in a NUL byte.  0, or -1 if it does not fit. */
static int warm_frame(char *const *argv, char *const *envp, char *out, size_t cap, size_t *len)
{
	char body[1024];
	size_t n = 0;
	char *const *lists[2] = { argv, envp };
	for (int l = 0; l < 2; l++) {
		size_t c = 0;
		while (lists[l][c])
			c++;
		int k = snprintf(body + n, sizeof body - n, "%zu", c);
		if (k < 0 || (size_t)k + 1 >= sizeof body - n)
			return -1;
		n += (size_t)k + 1;                 /* its NUL */
		for (size_t i = 0; i < c; i++) {
			size_t m = strlen(lists[l][i]) + 1;
			if (m > sizeof body - n)
				return -1;
			memcpy(body + n, lists[l][i], m);
			n += m;
		}
	}
	int h = snprintf(out, cap, "%zu\n", n);
	if (h < 0 || (size_t)h + n > cap)
		return -1;
	memcpy(out + h, body, n);
	*len = (size_t)h + n;
	return 0;
}

/* N Python runs, each served warm: by an interpreter the zygote forked
 * into the prepared jail (jail_info.warm_fork: as the service user), or
 * one started there (as root).  Prints warm_fork, then per run its status,
 * whether it was warm, and the program's pid, ppid, argv, cgroup and the
 * pids it sees; exits 1 if a run failed or went cold. */
static int run_zygote(struct jail *j, const char *rootfs, long n)
{
	static char *env[] = { "PATH=/usr/local/bin:/usr/bin:/bin", "HOME=/work", "LANG=C.UTF-8", NULL };
	static char *argv[] = { "python3", "main.py", "a1", NULL };
	static const char prog[] =
		"import os, sys\n"
		"print(os.getpid(), os.getppid(), sys.argv, open('/proc/self/cgroup').read().split(':')[-1].strip(),\n"
		"      sorted(int(p) for p in os.listdir('/proc') if p.isdigit()))\n";
	char *wargv[] = { "python3", "-c", (char *)req_warm_python_boot, NULL };
	char key[PATH_MAX + 8], frame[2048];
	size_t flen;
	snprintf(key, sizeof key, "python:%s", rootfs);
	struct jail_warm_spec w = { .key = key, .rootfs = rootfs, .argv = wargv, .envp = env,
		.limits = { .wall_time_ms = 10000, .memory_bytes = 256u << 20, .max_processes = 32,
		            .max_output_bytes = 1 << 20 },
		.fork_boot = req_warm_python_fork_boot };
	if (warm_frame(argv, env, frame, sizeof frame, &flen) < 0)
		return 1;
	printf("can_warm %d warm_fork %d\n", (int)jail_can_warm(j), (int)jail_get_info(j)->warm_fork);
	if (!jail_can_warm(j))
		return 0;                       /* fork mode, degraded limits: none */
	int rc = 0;
	for (long i = 0; i < n; i++) {
		struct jail_error e;
		if (jail_idle_warm(j, &w, &e) < 0) {
			printf("run %ld idle_failure %s %s %s\n", i, e.step, strerror(e.err), e.detail);
			return 1;
		}
		struct jail_file f = { .path = "main.py", .data = prog, .len = sizeof prog - 1 };
		struct jail_step s = make_step(argv, 10000);
		struct jail_spec spec = { .rootfs = rootfs, .envp = env, .steps = &s, .nsteps = 1,
		                          .files = &f, .nfiles = 1, .warm_key = key,
		                          .warm_frame = frame, .warm_frame_len = flen };
		struct jail_result res;
		if (jail_run(j, &spec, &res) < 0) {
			printf("run %ld sandbox_failure %s %s %s\n", i, res.error.step,
			       strerror(res.error.err), res.error.detail);
			return 1;
		}
		printf("run %ld status %s warm %d out %s", i, jail_status_name(res.steps[0].status),
		       (int)res.warm, res.steps[0].out.data);
		rc |= res.steps[0].status != JAIL_SUCCESS || !res.warm;
		jail_result_free(&res);
	}
	return rc;
}

/* A host file, whole, for jail_spec.files; NULL on error. */
static void *read_host_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rbe");
	if (!f)
		return NULL;
	size_t cap = 1 << 20, n = 0;
	char *buf = malloc(cap);
	size_t got;
	while (buf && (got = fread(buf + n, 1, cap - n, f)) > 0) {
		n += got;
		if (n == cap) {
			char *nb = realloc(buf, cap *= 2);
			if (!nb)
				free(buf);
			buf = nb;
		}
	}
	fclose(f);
	*len = n;
	return buf;
}

/* cancel_fd: the peer of a socketpair writes a byte at once (data must not
 * cancel), then hangs up after a second (that must); the job (sleep 30, or
 * prog[0] with its arguments) has a 20 s wall limit. */
static int run_cancel(struct jail *j, const char *rootfs, char **prog)
{
	static char *env[] = { "PATH=/usr/bin:/bin", NULL };
	char *sleep_cmd[] = { "/bin/sleep", "30", NULL };
	char **cmd = sleep_cmd;
	struct jail_file file = { .path = "prog", .executable = true };
	void *data = NULL;
	if (prog[0]) {
		data = read_host_file(prog[0], &file.len);
		if (!data) {
			perror(prog[0]);
			return 1;
		}
		file.data = data;
		prog[0] = "./prog";
		cmd = prog;
	}
	int sv[2];
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
		return 1;
	pid_t peer = fork();
	if (peer == 0) {
		close(sv[0]);
		(void)!write(sv[1], "x", 1);
		sleep(1);
		_exit(0);
	}
	close(sv[1]);
	struct jail_step s = make_step(cmd, 20000);
	struct jail_spec spec = { .rootfs = rootfs, .envp = env, .steps = &s, .nsteps = 1,
	                          .files = data ? &file : NULL, .nfiles = data ? 1 : 0,
	                          .cancel_on_hangup = true, .cancel_fd = sv[0] };
	struct jail_result res;
	int rc = jail_run(j, &spec, &res);
	waitpid(peer, NULL, 0);
	close(sv[0]);
	free(data);
	if (rc < 0) {
		printf("sandbox_failure %s %s\n", res.error.step, strerror(res.error.err));
		return 1;
	}
	printf("cancelled %d\nstatus %s\nsignal %d\nwall_ms %llu\nstdout_len %zu\nstdout_truncated %d\n",
	       (int)res.cancelled, jail_status_name(res.steps[0].status), res.steps[0].signal,
	       (unsigned long long)res.steps[0].wall_ms, res.steps[0].out.len,
	       (int)res.steps[0].out.truncated);
	jail_result_free(&res);
	return 0;
}

struct seen {
	char *data[3];                 /* by stream id: 1 stdout, 2 stderr */
	size_t len[3];
	long calls, bad_step, not_in_result;
	const struct jail_result *res;
	struct timespec t0, first;
};

static void seen_cb(void *arg, size_t step, int stream, const char *data, size_t len)
{
	struct seen *w = arg;
	if (step != 0 || stream < 1 || stream > 2) {
		w->bad_step++;
		return;
	}
	if (w->calls++ == 0)
		clock_gettime(CLOCK_MONOTONIC, &w->first);
	/* The contract: data is in the result's own buffer, at the offset
	 * of the bytes given before. */
	const struct jail_buf *b = stream == 1 ? &w->res->steps[step].out : &w->res->steps[step].err;
	if (data != b->data + w->len[stream])
		w->not_in_result++;
	char *n = realloc(w->data[stream], w->len[stream] + len + 1);
	if (!n)
		exit(3);
	memcpy(n + w->len[stream], data, len);
	w->data[stream] = n;
	w->len[stream] += len;
}

static long ms_since(const struct timespec *a, const struct timespec *b)
{
	return (long)((b->tv_sec - a->tv_sec) * 1000L + (b->tv_nsec - a->tv_nsec) / 1000000L);
}

/* What the live output callback saw, against the kept output: the same
 * bytes per stream (within the cap only), and when the first came. */
static int run_stream(struct jail *j, const char *rootfs, char **argv)
{
	static char *env[] = { "PATH=/usr/bin:/bin", "HOME=/work", "LANG=C.UTF-8", NULL };
	struct jail_step s = make_step(argv, 20000);
	s.limits.memory_bytes = 256u << 20;
	struct seen w = { .calls = 0 };
	struct jail_spec spec = { .rootfs = rootfs, .envp = env, .steps = &s, .nsteps = 1,
	                          .on_output = seen_cb, .output_arg = &w };
	struct jail_result res;
	struct timespec end;
	w.res = &res;
	clock_gettime(CLOCK_MONOTONIC, &w.t0);
	int rc = jail_run(j, &spec, &res);
	clock_gettime(CLOCK_MONOTONIC, &end);
	if (rc < 0) {
		printf("sandbox_failure %s %s\n", res.error.step, strerror(res.error.err));
		return 1;
	}
	const struct jail_step_result *r = &res.steps[0];
	printf("status %s\ncalls %ld\nbad_step %ld\nnot_in_result %ld\n", jail_status_name(r->status),
	       w.calls, w.bad_step, w.not_in_result);
	printf("stdout_len %zu\nstdout_seen %zu\nstdout_same %d\nstdout_truncated %d\n",
	       r->out.len, w.len[1], w.len[1] == r->out.len && (!w.len[1] || !memcmp(w.data[1], r->out.data, w.len[1])),
	       (int)r->out.truncated);
	printf("stderr_len %zu\nstderr_seen %zu\nstderr_same %d\nstderr_truncated %d\n",
	       r->err.len, w.len[2], w.len[2] == r->err.len && (!w.len[2] || !memcmp(w.data[2], r->err.data, w.len[2])),
	       (int)r->err.truncated);
	printf("first_ms %ld\nend_ms %ld\n", w.calls ? ms_since(&w.t0, &w.first) : -1, ms_since(&w.t0, &end));
	free(w.data[1]);
	free(w.data[2]);
	jail_result_free(&res);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc < 4) {
		fprintf(stderr, "usage: jail_loop leak ROOTFS N | bench ROOTFS N CMD [ARG...]\n");
		return 2;
	}
	if (!strcmp(argv[1], "leak") && !strncmp(argv[2], "/tmp/", 5)) {
		fprintf(stderr, "jail_loop: the leak test hides /tmp; use a RootFS outside it\n");
		return 2;
	}
	const char *tmp_ready = getenv("JAIL_LOOP_TMP_READY");
	if (!strcmp(argv[1], "leak") && !(tmp_ready && !strcmp(tmp_ready, "1")) && private_tmp() < 0)
		return 1;
	struct jail_error e;
	struct jail_config cfg = { .warm_fork = !strcmp(argv[1], "zygote") };
	const char *test_cgroup = getenv("SANDBOX_TEST_CGROUP");
	const char *degraded = getenv("JAIL_LOOP_ALLOW_DEGRADED");
	cfg.allow_degraded_limits = degraded && !strcmp(degraded, "1");
	cfg.clone_mode = jail_clone_mode_parse(getenv(JAIL_CLONE_MODE_ENV));
	if (test_cgroup && test_cgroup[0]) {
		cfg.cgroup_path = test_cgroup;
		cfg.require_cgroup = !cfg.allow_degraded_limits;
	}
	struct jail *j = jail_new(&cfg, &e);
	if (!j) {
		fprintf(stderr, "jail_new: %s: %s %s\n", e.step, strerror(e.err), e.detail);
		return 1;
	}
	long n = strtol(argv[3], NULL, 10);
	int rc = !strcmp(argv[1], "leak") ? run_leak(j, argv[2], n)
	       : !strcmp(argv[1], "nest") ? run_nest(j, argv[2], argv + 3)
	       : !strcmp(argv[1], "warm") ? run_warm(j, argv[2], argv + 3)
	       : !strcmp(argv[1], "zygote") ? run_zygote(j, argv[2], n)
	       : !strcmp(argv[1], "cancel") ? run_cancel(j, argv[2], argv + 4)
	       : !strcmp(argv[1], "stream") && argc > 4 ? run_stream(j, argv[2], argv + 4)
	       : !strcmp(argv[1], "seq") && argc > 4 ? run_seq(j, argv[2], n, argv + 4)
	       : argc > 4 ? run_bench(j, argv[2], n, argv + 4) : 2;
	jail_free(j);
	return rc;
}

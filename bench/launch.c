/*
 * bench/launch - what a jail costs per launch, against a bare launch and
 * bubblewrap, all measured in one run, round-robin (the machines are noisy:
 * interleaving spreads the noise over every method alike).
 *
 *   launch ROOTFS SANDBOX_RUN N CMD [ARG...]
 *
 * Methods, each timed from start to the child's exit being reaped:
 *   bare-fork    fork + execve + waitpid, from this (small) process
 *   bare-spawn   posix_spawn (vfork-like) + waitpid
 *   jail-lib     jail_run() in this long-lived process: what a responder pays
 *   sandbox-run  the CLI, launched with posix_spawn
 *   bwrap        bubblewrap with comparable isolation (if installed)
 * Prints median, p10, p90 per method, and the median's ratio and added ms
 * over bare-fork.  jail_idle() (run by a responder after each answer is
 * sent) is timed apart, and "lib+idle" adds it to each jail-lib run: the
 * whole work per job, which is what a saturated responder pays.
 */
#include <errno.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "jail/jail.h"

enum { M_FORK, M_SPAWN, M_LIB, M_CLI, M_BWRAP, M_COUNT };
static const char *const names[M_COUNT] = { "bare-fork", "bare-spawn", "jail-lib", "sandbox-run", "bwrap" };
static char *env[] = { "PATH=/usr/bin:/bin", "HOME=/work", "LANG=C.UTF-8", NULL };

static double now_us(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec * 1e6 + (double)t.tv_nsec / 1e3;
}

static int wait_ok(pid_t p)
{
	int st;
	while (waitpid(p, &st, 0) < 0)
		if (errno != EINTR)
			return -1;
	return WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : -1;
}

static int spawn_quiet(char **argv)
{
	posix_spawn_file_actions_t fa;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", 01, 0);
	pid_t p;
	int rc = posix_spawn(&p, argv[0], &fa, NULL, argv, env);
	posix_spawn_file_actions_destroy(&fa);
	return rc ? -1 : wait_ok(p);
}

static int run_fork(char **cmd)
{
	pid_t p = fork();
	if (p == 0) {
		execve(cmd[0], cmd, env);
		_exit(127);
	}
	return p < 0 ? -1 : wait_ok(p);
}

static double idle_us;   /* jail_idle() after the last jail_run(), untimed by the run */

static double now_us(void);

static int run_lib(struct jail *j, const char *rootfs, char **cmd)
{
	struct jail_step s = { .name = "run", .argv = cmd,
		.limits = { .wall_time_ms = 10000, .memory_bytes = 256u << 20, .max_processes = 64,
		            .max_output_bytes = 1 << 20, .max_file_bytes = 64u << 20, .max_open_files = 256 } };
	struct jail_spec spec = { .rootfs = rootfs, .envp = env, .steps = &s, .nsteps = 1 };
	struct jail_result r;
	int rc = jail_run(j, &spec, &r);
	int ok = rc == 0 && r.steps[0].status == JAIL_SUCCESS;
	if (rc == 0)
		jail_result_free(&r);
	else
		fprintf(stderr, "jail_run: %s: %s\n", r.error.step, strerror(r.error.err));
	return ok ? 0 : -1;
}

/* What a responder does after sending the answer: timed on its own. */
static void idle(struct jail *j)
{
	double a = now_us();
	jail_idle(j, NULL);
	idle_us = now_us() - a;
}

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
	if (argc < 5) {
		fprintf(stderr, "usage: launch ROOTFS SANDBOX_RUN N CMD [ARG...]\n");
		return 2;
	}
	const char *rootfs = argv[1], *cli = argv[2];
	int n = atoi(argv[3]);
	char **cmd = argv + 4;
	int ncmd = argc - 4;
	char *cli_argv[64] = { (char *)cli, "--rootfs", (char *)rootfs, "--" };
	char *bw_argv[96] = { "/usr/bin/bwrap", "--unshare-all", "--die-with-parent", "--new-session",
		"--cap-drop", "ALL", "--ro-bind", (char *)rootfs, "/", "--tmpfs", "/tmp", "--tmpfs", "/work",
		"--proc", "/proc", "--dev", "/dev", "--chdir", "/work", "--clearenv",
		"--setenv", "PATH", "/usr/bin:/bin", "--" };
	int ci = 4, bi = 24;
	for (int i = 0; i < ncmd && i < 40; i++)
		cli_argv[ci++] = bw_argv[bi++] = cmd[i];
	bool have_bwrap = access("/usr/bin/bwrap", X_OK) == 0;

	struct jail_error e;
	struct jail_config cfg = { .clone_mode = jail_clone_mode_parse(getenv(JAIL_CLONE_MODE_ENV)) };
	struct jail *j = jail_new(&cfg, &e);
	if (!j) {
		fprintf(stderr, "jail_new: %s: %s %s\n", e.step, strerror(e.err), e.detail);
		return 1;
	}
	double *t[M_COUNT], *t_idle = calloc((size_t)n, sizeof(double));
	double *t_total = calloc((size_t)n, sizeof(double));
	for (int m = 0; m < M_COUNT; m++)
		t[m] = calloc((size_t)n, sizeof(double));
	/* warm-up: page cache, the RootFS preparation of the first jail_run */
	for (int w = 0; w < 5; w++) {
		run_fork(cmd);
		run_lib(j, rootfs, cmd);
		idle(j);
	}
	for (int i = 0; i < n; i++) {
		for (int m = 0; m < M_COUNT; m++) {
			int k = (m + i) % M_COUNT;    /* rotate the order too */
			if (k == M_BWRAP && !have_bwrap)
				continue;
			double a = now_us();
			int rc = k == M_FORK ? run_fork(cmd) : k == M_SPAWN ? spawn_quiet(cmd)
			       : k == M_LIB ? run_lib(j, rootfs, cmd) : k == M_CLI ? spawn_quiet(cli_argv)
			       : spawn_quiet(bw_argv);
			t[k][i] = now_us() - a;
			if (k == M_LIB) {
				idle(j);
				t_idle[i] = idle_us;
				t_total[i] = t[k][i] + idle_us;
			}
			if (rc < 0) {
				fprintf(stderr, "%s failed on run %d\n", names[k], i);
				return 1;
			}
		}
	}
	double base = 0;
	printf("%-12s %9s %9s %9s %8s %9s\n", "method", "median_ms", "p10_ms", "p90_ms", "ratio", "added_ms");
	for (int m = 0; m < M_COUNT; m++) {
		if (m == M_BWRAP && !have_bwrap)
			continue;
		qsort(t[m], (size_t)n, sizeof(double), cmp);
		double med = t[m][n / 2] / 1000, p10 = t[m][n / 10] / 1000, p90 = t[m][n * 9 / 10] / 1000;
		if (m == M_FORK)
			base = med;
		printf("%-12s %9.3f %9.3f %9.3f %7.2fx %+9.3f\n", names[m], med, p10, p90, med / base, med - base);
	}
	qsort(t_idle, (size_t)n, sizeof(double), cmp);
	printf("%-12s %9.3f %9.3f %9.3f   (jail_idle after each jail-lib run: cleanup, then the next job's mounts, cgroup and prepared pid 1, off the request path)\n",
	       "jail-idle", t_idle[n / 2] / 1000, t_idle[n / 10] / 1000, t_idle[n * 9 / 10] / 1000);
	qsort(t_total, (size_t)n, sizeof(double), cmp);
	double med = t_total[n / 2] / 1000;
	printf("%-12s %9.3f %9.3f %9.3f %7.2fx %+9.3f   (jail-lib + jail-idle per round: all the work per job)\n",
	       "lib+idle", med, t_total[n / 10] / 1000, t_total[n * 9 / 10] / 1000, med / base, med - base);
	jail_free(j);
	return 0;
}

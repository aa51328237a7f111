/*
 * cg_detect.c - which cgroup hierarchy the jail uses, detected once at
 * start-up (jail_new), and which limits it can enforce.  The per-run
 * cgroups made under it are cg_run.c's.
 *
 * v2: a delegated directory D (the --cgroup path, else our own cgroup;
 *   when that is the hierarchy's root, which holds init and the kernel
 *   threads, host root uses <root>/sandbox-fcgi instead).
 *   The "no internal processes" rule forbids enabling controllers for D's
 *   children while D itself holds processes, so at start-up every process
 *   of D (the supervisor, the responders) moves into the leaf D/supervisor;
 *   then D gets +memory +pids +cpu and each run a leaf D/jail-<pid>-<n>.
 *   Both leaves share D as common ancestor, which is what lets a delegated,
 *   unprivileged owner move the jail between them (cgroup-v2.rst,
 *   "Delegation Containment").
 * v1: one directory per controller, /sys/fs/cgroup/<ctrl>/<name>, made by
 *   the installer (or by us when root), and per run <name>/<pid>-<n>.
 * When no hierarchy, or not every controller, can be used, cg_degraded()
 *   says which limits would fall back to per-process rlimits; jail_new()
 *   refuses to start unless degraded limits were allowed, and then the
 *   info says which: nothing claims a limit that is not enforced.
 */
#include "jail/jail_private.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#ifndef CGROUP2_SUPER_MAGIC
#define CGROUP2_SUPER_MAGIC 0x63677270
#endif

#define CG_ROOT "/sys/fs/cgroup"
#define CG_DEFAULT_NAME "sandbox-fcgi"    /* v1 name; v2 dir under the root */

static bool cg_writable_dir(const char *dir)
{
	struct stat st;
	return stat(dir, &st) == 0 && S_ISDIR(st.st_mode) && access(dir, W_OK) == 0;
}

int cg_write(const char *dir, const char *file, const char *val, struct jail_error *e)
{
	char p[PATH_MAX];
	if ((size_t)snprintf(p, sizeof p, "%s/%s", dir, file) >= sizeof p)
		return util_fail(e, "cgroup write", ENAMETOOLONG, "%s", file);
	return file_write_str(p, val, e, "cgroup write");
}

/* ---------- detection ---------- */

static int cg_own_v2_path(char *out, size_t size)
{
	FILE *f = fopen("/proc/self/cgroup", "re");
	if (!f)
		return -1;
	char line[PATH_MAX];
	int rc = -1;
	while (fgets(line, sizeof line, f)) {
		if (strncmp(line, "0::", 3) == 0) {
			line[strcspn(line, "\n")] = '\0';
			rc = (size_t)snprintf(out, size, "%s%s", CG_ROOT, line + 3) < size ? 0 : -1;
			break;
		}
	}
	fclose(f);
	return rc;
}

/* WORD in a space-separated list such as cgroup.controllers. */
static bool cg_has_word(const char *list, const char *word)
{
	size_t n = strlen(word);
	for (const char *p = list; (p = strstr(p, word)); p += n)
		if ((p == list || p[-1] == ' ') && (p[n] == ' ' || p[n] == '\n' || p[n] == '\0'))
			return true;
	return false;
}

/* Any active swap area (/proc/swaps has lines after its header)?  Then a
 * memory limit without swap accounting (v1 memory.memsw.*, v2
 * memory.swap.max) only caps RAM: the run can page out and use more.
 * Checked at start-up; swapon later is the operator's to avoid. */
static bool cg_swap_on(void)
{
	FILE *f = fopen("/proc/swaps", "re");
	if (!f)
		return false;
	char line[256];
	int n = 0;
	while (n < 2 && fgets(line, sizeof line, f))
		n++;
	fclose(f);
	return n > 1;
}

/* Move every process of D into D/supervisor, then enable controllers. */
static int cg_v2_prepare(struct cg_hierarchy *cg, struct jail_info *info, struct jail_error *e)
{
	char sup[PATH_MAX], p[PATH_MAX];
	snprintf(sup, sizeof sup, "%s/supervisor", cg->v2_dir);
	if (mkdir(sup, 0755) < 0 && errno != EEXIST)
		return util_fail(e, "cgroup v2 supervisor leaf", errno, "%s", sup);
	snprintf(p, sizeof p, "%s/cgroup.procs", cg->v2_dir);
	FILE *f = fopen(p, "re");
	if (!f)
		return util_fail(e, "cgroup v2 procs", errno, "%s", p);
	char line[32];
	while (fgets(line, sizeof line, f)) {
		line[strcspn(line, "\n")] = '\0';
		/* A process may exit meanwhile (ESRCH): not an error. */
		if (cg_write(sup, "cgroup.procs", line, e) < 0 && e->err != ESRCH) {
			fclose(f);
			return -1;
		}
	}
	fclose(f);
	char ctrls[256] = "";
	snprintf(p, sizeof p, "%s/cgroup.controllers", cg->v2_dir);
	int fd = open(p, O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		ssize_t n = read(fd, ctrls, sizeof ctrls - 1);
		ctrls[n > 0 ? n : 0] = '\0';
		close(fd);
	}
	info->memory_limit = cg_has_word(ctrls, "memory");
	info->pids_limit = cg_has_word(ctrls, "pids");
	char want[64] = "";
	if (info->memory_limit)
		strcat(want, "+memory ");
	if (info->pids_limit)
		strcat(want, "+pids ");
	if (cg_has_word(ctrls, "cpu"))        /* not "cpuset" */
		strcat(want, "+cpu ");
	if (want[0] && cg_write(cg->v2_dir, "cgroup.subtree_control", want, e) < 0)
		return -1;
	cg->v2_memory = info->memory_limit;
	cg->v2_pids = info->pids_limit;
	info->cpu_accounting = true;          /* cpu.stat is always there */
	info->memory_peak = (size_t)snprintf(p, sizeof p, "%s/memory.peak", sup) < sizeof p &&
	                    access(p, R_OK) == 0;
	info->swap_limited = info->memory_limit &&
	                     ((size_t)snprintf(p, sizeof p, "%s/memory.swap.max", sup) < sizeof p &&
	                      access(p, F_OK) == 0);
	if ((size_t)snprintf(info->cgroup_dir, sizeof info->cgroup_dir, "%s", cg->v2_dir) >=
	    sizeof info->cgroup_dir)
		return util_fail(e, "cgroup v2 detect", ENAMETOOLONG, NULL);
	return 0;
}

/* The hierarchy's root cgroup: a cgroup2 directory without cgroup.type
 * (every other cgroup has one; so does a cgroup namespace's root). */
static bool cg_v2_is_root(const char *dir)
{
	char p[PATH_MAX];
	if ((size_t)snprintf(p, sizeof p, "%s/cgroup.type", dir) >= sizeof p || access(p, F_OK) == 0 ||
	    errno != ENOENT)
		return false;
	snprintf(p, sizeof p, "%s/cgroup.procs", dir);
	return access(p, F_OK) == 0;
}

static int cg_detect_v2(struct cg_hierarchy *cg, const char *cfg_path, bool as_root,
                        struct jail_info *info, struct jail_error *e)
{
	if (cfg_path && cfg_path[0] == '/')
		snprintf(cg->v2_dir, sizeof cg->v2_dir, "%s", cfg_path);
	else if (cfg_path)          /* a name, as on v1: under the root, not the cwd */
		snprintf(cg->v2_dir, sizeof cg->v2_dir, "%s/%s", CG_ROOT, cfg_path);
	else if (cg_own_v2_path(cg->v2_dir, sizeof cg->v2_dir) < 0)
		return util_fail(e, "cgroup v2 detect", errno ? errno : ENOENT, "own cgroup");
	size_t len = strlen(cg->v2_dir);
	while (len > 1 && cg->v2_dir[len - 1] == '/')   /* own cgroup "/": CG_ROOT "/" */
		cg->v2_dir[--len] = '\0';
	const char *leaf = "/supervisor";
	if (len > strlen(leaf) && strcmp(cg->v2_dir + len - strlen(leaf), leaf) == 0)
		cg->v2_dir[len - strlen(leaf)] = '\0';
	/* The root holds init and the kernel threads: not ours to move into a
	 * supervisor leaf (and exempt from "no internal processes").  Host
	 * root uses <root>/sandbox-fcgi instead, made if missing, as in v1. */
	if (cg_v2_is_root(cg->v2_dir)) {
		if (!as_root)
			return util_fail(e, "cgroup v2 detect", EACCES,
			                 "%s is the root cgroup, not a delegated one", cg->v2_dir);
		len = strlen(cg->v2_dir);
		if ((size_t)snprintf(cg->v2_dir + len, sizeof cg->v2_dir - len, "/%s", CG_DEFAULT_NAME) >=
		    sizeof cg->v2_dir - len)
			return util_fail(e, "cgroup v2 detect", ENAMETOOLONG, NULL);
		if (mkdir(cg->v2_dir, 0755) < 0 && errno != EEXIST)
			return util_fail(e, "cgroup v2 detect", errno, "%s", cg->v2_dir);
	}
	if (!cg_writable_dir(cg->v2_dir))
		return util_fail(e, "cgroup v2 detect", EACCES,
		                 "%s is not a delegated (writable) cgroup", cg->v2_dir);
	return cg_v2_prepare(cg, info, e);
}

/* The first reason a v1 controller was unusable: cg_degraded() reports it. */
static bool cg_v1_missing(struct cg_hierarchy *cg, const char *ctrl, int err, char *out)
{
	out[0] = '\0';
	if (!cg->v1_err) {
		cg->v1_err = err ? err : EACCES;
		snprintf(cg->v1_err_ctrl, sizeof cg->v1_err_ctrl, "%s", ctrl);
	}
	return false;
}

static bool cg_v1_controller(struct cg_hierarchy *cg, const char *ctrl, const char *name, bool as_root,
                             char *out, size_t size)
{
	char mnt[PATH_MAX];
	struct statfs sf;
	snprintf(mnt, sizeof mnt, CG_ROOT "/%s", ctrl);
	if (statfs(mnt, &sf) < 0)
		return cg_v1_missing(cg, ctrl, errno, out);
	if (sf.f_type == CGROUP2_SUPER_MAGIC)
		return cg_v1_missing(cg, ctrl, ENOENT, out);
	if ((size_t)snprintf(out, size, "%s/%s", mnt, name) >= size)
		return cg_v1_missing(cg, ctrl, ENAMETOOLONG, out);
	if (as_root && mkdir(out, 0755) < 0 && errno != EEXIST)
		return cg_v1_missing(cg, ctrl, errno, out);
	if (!cg_writable_dir(out))
		return cg_v1_missing(cg, ctrl, access(out, F_OK) < 0 ? errno : EACCES, out);
	return true;
}

static int cg_detect_v1(struct cg_hierarchy *cg, const char *cfg_path, bool as_root,
                        struct jail_info *info, struct jail_error *e)
{
	const char *name = cfg_path ? cfg_path : CG_DEFAULT_NAME;
	if (strchr(name, '/') && name[0] == '/')
		name = strrchr(name, '/') + 1;   /* v1 takes a name, not a path */
	info->memory_limit = cg_v1_controller(cg, "memory", name, as_root, cg->v1_mem, sizeof cg->v1_mem);
	info->pids_limit = cg_v1_controller(cg, "pids", name, as_root, cg->v1_pids, sizeof cg->v1_pids);
	info->cpu_accounting = cg_v1_controller(cg, "cpuacct", name, as_root, cg->v1_cpu, sizeof cg->v1_cpu);
	info->memory_peak = info->memory_limit;
	char p[PATH_MAX];
	info->swap_limited = info->memory_limit &&
	                     (size_t)snprintf(p, sizeof p, "%s/memory.memsw.limit_in_bytes", cg->v1_mem) < sizeof p &&
	                     access(p, F_OK) == 0;
	if (!info->memory_limit && !info->pids_limit && !info->cpu_accounting)
		return util_fail(e, "cgroup v1 detect", cg->v1_err ? cg->v1_err : EACCES,
		                 "no writable %s/{memory,pids,cpuacct}/%s", CG_ROOT, name);
	snprintf(info->cgroup_dir, sizeof info->cgroup_dir, "%s", name);
	return 0;
}

int cg_detect(struct cg_hierarchy *cg, const char *cfg_path, bool as_root,
              struct jail_info *info, struct jail_error *e)
{
	struct statfs sf;
	memset(cg, 0, sizeof *cg);
	info->memory_limit = info->pids_limit = info->cpu_accounting = info->memory_peak = false;
	info->swap_limited = false;
	int rc;
	/* An absolute --cgroup path picks its hierarchy by its filesystem (a
	 * hybrid host has a cgroup2 mount beside the v1 ones); otherwise the
	 * mount at /sys/fs/cgroup decides. */
	bool v2 = cfg_path && cfg_path[0] == '/' ?
	          statfs(cfg_path, &sf) == 0 && sf.f_type == CGROUP2_SUPER_MAGIC :
	          statfs(CG_ROOT, &sf) == 0 && sf.f_type == CGROUP2_SUPER_MAGIC;
	if (cfg_path && cfg_path[0] == '/' && !v2 && access(cfg_path, F_OK) < 0) {
		/* Not a v1 name either: say so, not "no v1 hierarchy". */
		rc = util_fail(e, "cgroup detect", errno, "--cgroup %s", cfg_path);
	} else if (v2) {
		rc = cg_detect_v2(cg, cfg_path, as_root, info, e);
		cg->mode = JAIL_CG_V2;
	} else {
		rc = cg_detect_v1(cg, cfg_path, as_root, info, e);
		cg->mode = JAIL_CG_V1;
	}
	if (rc < 0) {
		cg->mode = JAIL_CG_NONE;
		info->memory_limit = info->pids_limit = info->cpu_accounting = info->memory_peak = false;
		info->swap_limited = false;
		info->cgroup_dir[0] = '\0';
	}
	info->cgroup = cg->mode;
	if (!info->swap_limited && info->memory_limit && !cg_swap_on())
		info->swap_limited = true;          /* nothing to escape into */
	return rc;
}

/* Which limits cgroups do not enforce for the whole run (enum
 * jail_degraded bits), after a successful cg_detect(); when some are, *e
 * says why (step "cgroup controllers", an errno, what is missing where). */
unsigned cg_degraded(const struct cg_hierarchy *cg, const struct jail_info *info, struct jail_error *e)
{
	unsigned d = 0;
	char miss[64] = "";
	if (!info->memory_limit || !info->swap_limited)
		d |= JAIL_DEGRADED_MEMORY;
	if (!info->pids_limit)
		d |= JAIL_DEGRADED_PROCESSES;
	if (!info->cpu_accounting)
		d |= JAIL_DEGRADED_CPU;
	if (!d)
		return 0;
	snprintf(miss, sizeof miss, "%s%s%s%s", !info->memory_limit ? " memory" : "",
	         info->memory_limit && !info->swap_limited ? " swap-accounting" : "",
	         !info->pids_limit ? " pids" : "",
	         !info->cpu_accounting ? (cg->mode == JAIL_CG_V1 ? " cpuacct" : " cpu") : "");
	if (cg->mode == JAIL_CG_V1 && cg->v1_err)
		util_fail(e, "cgroup controllers", cg->v1_err, "missing%s (%s/%s/%s)", miss, CG_ROOT,
		          cg->v1_err_ctrl, info->cgroup_dir);
	else
		util_fail(e, "cgroup controllers", EOPNOTSUPP, "missing%s in %s%s", miss,
		          cg->mode == JAIL_CG_V2 ? cg->v2_dir : info->cgroup_dir,
		          info->memory_limit && !info->swap_limited ? " while swap is on" : "");
	return d;
}

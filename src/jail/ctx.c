/*
 * ctx.c - struct jail: everything expensive, done once per process.
 *   1. detect cgroups (v2 delegated dir, v1 hierarchies, or none),
 *      refuse to go on when a limit would be per process only (unless
 *      degraded limits are allowed) and collect what a killed
 *      predecessor left there;
 *   2. compile the seccomp filter to BPF;
 *   3. allocate the two stacks pid 1 and the program start on;
 *   4. enter our own mount + network (+ user) namespace (ns.c).
 * The order: cgroup detection reads /proc/self/cgroup and may move us into
 * a v2 leaf, which must happen before the user namespace (whose root cannot
 * act on the host's cgroup files as anything but our uid anyway); the
 * namespaces come last so that a failure before them leaves the process as
 * it was.
 */
#include "jail/jail_private.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

/* ASan and friends keep per-thread state in TLS, which a CLONE_VM child
 * shares with us: in a sanitizer build a jail deadlocked on a runtime lock.
 * Sanitizer builds therefore default to fork mode (JAIL_CLONE_AUTO;
 * JAIL_CLONE_VM, SANDBOX_JAIL_FORK=0 for the programs, forces CLONE_VM);
 * the CLONE_VM path is tested by the normal build. */
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define JAIL_SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define JAIL_SANITIZED 1
#endif
#endif
#ifndef JAIL_SANITIZED
#define JAIL_SANITIZED 0
#endif

static int ctx_stacks(struct jail *j, struct jail_error *e)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE);
	size_t one = JAIL_STACK_SIZE + page;
	char *m = mmap(NULL, 2 * one, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
	if (m == MAP_FAILED)
		return util_fail(e, "allocate stacks", errno, NULL);
	/* A guard page below each stack: an overflow faults instead of
	 * silently writing into the other stack or our heap. */
	if (mprotect(m, page, PROT_NONE) < 0 || mprotect(m + one, page, PROT_NONE) < 0) {
		int err = errno;
		munmap(m, 2 * one);
		return util_fail(e, "allocate stacks", err, "guard page");
	}
	j->stack_map = m;
	j->stack_map_len = 2 * one;
	j->stack_top[0] = m + one;
	j->stack_top[1] = m + 2 * one;
	return 0;
}

static bool ctx_use_clone_vm(enum jail_clone_mode mode)
{
	switch (mode) {
	case JAIL_CLONE_VM: return true;
	case JAIL_CLONE_FORK: return false;
	case JAIL_CLONE_AUTO: break;
	}
	return !JAIL_SANITIZED;
}

/* uid 0 is host root only in the initial user namespace ("0 0 4294967295"
 * in uid_map); inside a container or under another jail-owning process it
 * is a namespace's root, which must take the unprivileged path. */
static bool ctx_initial_userns(void)
{
	char buf[128] = "";
	FILE *f = fopen("/proc/self/uid_map", "re");
	if (!f)
		return false;
	if (!fgets(buf, sizeof buf, f))
		buf[0] = '\0';
	fclose(f);
	unsigned long inside, outside, count;
	return sscanf(buf, "%lu %lu %lu", &inside, &outside, &count) == 3 &&
	       inside == 0 && outside == 0 && count == 4294967295ul;
}

static void ctx_ids(struct jail *j, const struct jail_config *cfg)
{
	if (j->as_root) {
		j->map_uid = cfg && cfg->host_uid ? cfg->host_uid : 65534;
		j->map_gid = cfg && cfg->host_gid ? cfg->host_gid : 65534;
	} else {
		j->map_uid = 0;              /* ourselves, in our own user namespace */
		j->map_gid = 0;
	}
	snprintf(j->uid_map, sizeof j->uid_map, "%u %u 1", JAIL_INSIDE_UID, (unsigned)j->map_uid);
	snprintf(j->gid_map, sizeof j->gid_map, "%u %u 1", JAIL_INSIDE_GID, (unsigned)j->map_gid);
}

/* Fail closed: without cgroups, memory_mb is RLIMIT_AS per process (eight
 * processes held about four times the limit) and tmpfs pages are not
 * counted at all; max_processes and cpu_time_ms fall back to rlimits too.
 * No program runs under limits weaker than jail_info (and /info) claims
 * unless the caller allowed exactly that; the info then lists them. */
static int ctx_refuse(struct jail_error *e, const struct jail_error *why, bool hint)
{
	*e = *why;
	size_t n = strlen(e->detail);
	/* Truncation only shortens the hint. */
	if (hint)
		snprintf(e->detail + n, sizeof e->detail - n, "%s",
		         "; limits would be per process only (--allow-degraded-limits)");
	return -1;
}

static int ctx_cgroups(struct jail *j, const struct jail_config *cfg, struct jail_error *e)
{
	bool allow = cfg && cfg->allow_degraded_limits;
	struct jail_error cge, why;
	memset(&why, 0, sizeof why);
	int rc = cg_detect(&j->cg, cfg ? cfg->cgroup_path : NULL, j->as_root, &j->info, &cge);
	if (rc == 0)
		cg_gc(&j->cg, true);
	unsigned d = rc < 0 ? JAIL_DEGRADED_ALL : cg_degraded(&j->cg, &j->info, &why);
	if (rc < 0 && (!allow || cfg->require_cgroup))
		return ctx_refuse(e, &cge, !allow);
	if (d && !allow)
		return ctx_refuse(e, &why, true);
	j->info.degraded = d;
	j->info.limits_degraded = d != 0;
	return 0;
}

struct jail *jail_new(const struct jail_config *cfg, struct jail_error *err)
{
	struct jail_error dummy;
	struct jail_error *e = err ? err : &dummy;
	memset(e, 0, sizeof *e);
	struct jail *j = calloc(1, sizeof *j);
	if (!j) {
		util_fail(e, "allocate", ENOMEM, NULL);
		return NULL;
	}
	j->grave.keep_fd = -1;
	j->zygote.ctl = -1;
	j->as_root = geteuid() == 0 && ctx_initial_userns();
	j->use_clone_vm = ctx_use_clone_vm(cfg ? cfg->clone_mode : JAIL_CLONE_AUTO);
	j->info.prepares_ahead = j->use_clone_vm;
	/* Only as the service user (the production mode, which the tests run
	 * in): as host root the zygote would keep host uid 0, capabilities or
	 * not (src/jail/zygote.c); interpreters are then started.  And only
	 * where there are warm interpreters at all (CLONE_VM mode). */
	j->warm_fork = cfg && cfg->warm_fork && !j->as_root && j->use_clone_vm;
	j->info.warm_fork = j->warm_fork;
	ctx_ids(j, cfg);
	quota_compute(&j->info.quota, cfg ? cfg->concurrent_jails : 0);
	j->info.userns_owned = !j->as_root;
	snprintf(j->info.seccomp_policy, sizeof j->info.seccomp_policy, "%s", SC_POLICY_NAME);

	if (ctx_cgroups(j, cfg, e) < 0)
		goto fail;
	if (sc_compile(&j->seccomp, e) < 0)
		goto fail;
	j->empty_caps = cap_init();
	if (!j->empty_caps) {
		util_fail(e, "cap_init", errno, NULL);
		goto fail;
	}
	if (ctx_stacks(j, e) < 0)
		goto fail;
	if (ns_enter_process(j->as_root, e) < 0)
		goto fail;
	/* In our own namespaces: fsopen needs CAP_SYS_ADMIN there.  Without
	 * it (an old kernel, a container's seccomp profile) every run's tmpfs
	 * is attached, as a job of several steps needs anyway (mount.c). */
	j->run_detach = mnt_run_can_detach();
	/* A program that closes its stdin early must not kill us with SIGPIPE. */
	signal(SIGPIPE, SIG_IGN);
	return j;
fail:
	jail_free(j);
	return NULL;
}

void jail_free(struct jail *j)
{
	if (!j)
		return;
	job_release_stages(j);
	zy_stop(&j->zygote);
	for (int i = 0; i < JAIL_MAX_ROOTS; i++)
		mnt_release_root(&j->roots[i]);
	if (j->stack_map)
		munmap(j->stack_map, j->stack_map_len);
	if (j->empty_caps)
		cap_free(j->empty_caps);
	sc_free(&j->seccomp);
	free(j);
}

const struct jail_info *jail_get_info(const struct jail *j)
{
	return &j->info;
}

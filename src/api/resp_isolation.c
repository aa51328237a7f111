/*
 * resp_isolation.c - what jail_new() actually set up, as JSON: the
 * "isolation" object of /info and the output of `sandbox-run --info`, from
 * one function so that the two cannot drift apart.
 */
#include "api/resp.h"

/* The limits keys enforced only per process (degraded mode). */
json_t *resp_degraded(const struct jail_info *ji)
{
	json_t *a = json_array();

	for (unsigned bit = 1; bit <= JAIL_DEGRADED_ALL; bit <<= 1)
		if (ji->degraded & bit)
			json_array_append_new(a, json_string(jail_degraded_name((enum jail_degraded)bit)));
	return a;
}

/* UINT64_MAX: the host sets no limit, and neither does the run. */
static json_t *quota_value(uint64_t v)
{
	return v == UINT64_MAX ? json_null() : json_integer((json_int_t)v);
}

static json_t *quotas_json(const struct jail_quota *q)
{
	return json_pack("{s:I, s:o, s:o, s:o, s:o, s:o}",
	                 "share", (json_int_t)q->share,
	                 "inotify_instances", quota_value(q->inotify_instances),
	                 "inotify_watches", quota_value(q->inotify_watches),
	                 "pending_signals", quota_value(q->sigpending),
	                 "mqueue_bytes", quota_value(q->msgqueue_bytes),
	                 "memlock_bytes", quota_value(q->memlock_bytes));
}

/* The namespaces are not optional in the jail (jail_run fails rather than
 * run without one), so listing them is a statement of fact once jail_new()
 * succeeded. */
json_t *resp_isolation(const struct jail_info *ji)
{
	json_t *ns = json_pack("[s,s,s,s,s,s,s]", "user", "mount", "pid", "net", "ipc",
	                       "uts", "cgroup");

	return json_pack("{s:o, s:b, s:s, s:s, s:s, s:b, s:b, s:b, s:b, s:b, s:b, s:o, s:o, s:b, s:s}",
	                 "namespaces", ns,
	                 "user_namespace_owned", ji->userns_owned,
	                 "seccomp", ji->seccomp_policy,
	                 "cgroup", jail_cgroup_mode_name(ji->cgroup),
	                 "cgroup_dir", ji->cgroup_dir,
	                 "memory_limit", ji->memory_limit,
	                 "pids_limit", ji->pids_limit,
	                 "cpu_accounting", ji->cpu_accounting,
	                 "memory_peak", ji->memory_peak,
	                 "swap_limited", ji->swap_limited,
	                 "limits_degraded", ji->limits_degraded,
	                 "degraded_limits", resp_degraded(ji),
	                 "quotas", quotas_json(&ji->quota),
	                 "no_new_privs", 1,
	                 "capabilities", "none");
}

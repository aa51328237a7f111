/*
 * meta.c - GET /health, /info, /runtimes.
 */
#include <stdio.h>
#include <string.h>

#include "config.h"
#include "fcgi/log.h"
#include "fcgi/openapi.h"
#include "api/resp.h"
#include "fcgi/svc.h"

void svc_refresh_registry(struct svc *s)
{
	char msg[256] = "";
	int rc;

	/* Off the request path unless something under the RootFS directory
	 * changed: one non-blocking read (issue 13). */
	if (!regw_changed(&s->regw))
		return;
	rc = rt_registry_refresh(&s->reg, msg, sizeof msg);
	regw_rescanned(&s->regw, rc < 0);
	if (rc < 0)
		log_event("warning", "sandbox.rootfs.refresh_failed",
		          json_pack("{s:s}", "message", msg));
}

static const struct rt_template *default_template(const struct svc *s)
{
	return rt_find_template(&s->reg, s->cfg.template_name);
}

/* Health is a real, cheap check: the default template exists and the jail
 * can start /bin/true in it (namespaces, mounts, cgroup, seccomp). */
void svc_handle_health(struct svc *s, struct http_req *r)
{
	const struct rt_template *t;
	struct jail_error e;
	char reason[320];

	svc_refresh_registry(s);
	t = default_template(s);
	memset(&e, 0, sizeof e);
	if (!t) {
		snprintf(reason, sizeof reason, "template '%s' is not installed", s->cfg.template_name);
	} else if (jail_selfcheck(s->jail, t->tree, &e) < 0) {
		snprintf(reason, sizeof reason, "jail self-check failed at '%s': %s (errno %d)",
		         e.step, e.detail[0] ? e.detail : strerror(e.err), e.err);
	} else {
		http_send_json(r, 200, json_pack("{s:s}", "status", "ok"), NULL);
		return;
	}
	log_event("error", "sandbox.health.failed",
	          json_pack("{s:s, s:s}", "request_id", r->request_id, "reason", reason));
	http_send_json(r, 503, json_pack("{s:s, s:s}", "status", "unavailable", "reason", reason),
	               "Retry-After: 5\r\n");
}

static json_t *range_json(const struct req_range *rg)
{
	return json_pack("{s:I, s:I, s:I}", "min", (json_int_t)rg->min,
	                 "default", (json_int_t)rg->def, "max", (json_int_t)rg->max);
}

static json_t *limits_json(const struct req_config *c)
{
	return json_pack("{s:o, s:o, s:o, s:o, s:o}",
	                 "wall_time_ms", range_json(&c->wall_time_ms),
	                 "cpu_time_ms", range_json(&c->cpu_time_ms),
	                 "memory_mb", range_json(&c->memory_mb),
	                 "max_processes", range_json(&c->max_processes),
	                 "max_output_bytes", range_json(&c->max_output_bytes));
}

static json_t *caps_json(const struct req_config *c)
{
	return json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I}",
	                 "max_body_bytes", (json_int_t)c->max_body_bytes,
	                 "max_code_bytes", (json_int_t)c->max_code_bytes,
	                 "max_files", (json_int_t)c->max_files,
	                 "max_file_bytes", (json_int_t)c->max_file_bytes,
	                 "max_files_total_bytes", (json_int_t)c->max_files_total_bytes,
	                 "max_stdin_bytes", (json_int_t)c->max_stdin_bytes,
	                 "max_output_files", (json_int_t)c->max_output_files,
	                 "max_output_file_bytes", (json_int_t)c->max_output_file_bytes,
	                 "max_output_total_bytes", (json_int_t)c->max_output_total_bytes);
}

/* The list itself: rt_registry_json() answers {"templates": [...]}. */
static json_t *templates_list(const struct rt_registry *reg)
{
	json_t *wrapped = rt_registry_json(reg);
	json_t *list = json_incref(json_object_get(wrapped, "templates"));
	json_decref(wrapped);
	return list ? list : json_array();
}

/* The warm interpreters: which runtime (null: off) and the pool's hits
 * and misses since the metrics file was made. */
static json_t *warm_json(const struct svc *s)
{
	uint64_t hits, misses;

	met_warm_totals(s->met.store, &hits, &misses);
	return json_pack("{s:s?, s:s?, s:b, s:I, s:I, s:f}",
	                 "runtime", s->warm.key ? s->warm_rt : NULL,
	                 "template", s->warm.key ? s->warm_tmpl : NULL,
	                 "forked", s->warm.key && s->jail && jail_get_info(s->jail)->warm_fork &&
	                            s->warm.spec.fork_boot,
	                 "hits", (json_int_t)hits, "misses", (json_int_t)misses,
	                 "hit_rate", hits + misses ? (double)hits / (double)(hits + misses) : 0.0);
}

/* The asynchronous runs' settings and the queue now (two readdirs). */
static json_t *async_json(struct svc *s)
{
	size_t queued = 0, running = 0;

	if (s->aq_ok)
		aq_counts(&s->aq, &queued, &running);
	return json_pack("{s:b, s:I, s:I, s:I, s:I, s:I, s:I, s:I}", "enabled", s->aq_ok,
	                 "queued", (json_int_t)queued, "running", (json_int_t)running,
	                 "slots", (json_int_t)s->aq.async_slots,
	                 "max_wall_time_ms", (json_int_t)s->cfg.async_max_wall_ms,
	                 "retention_s", (json_int_t)s->cfg.async_retention_s,
	                 "max_wait_s", (json_int_t)s->cfg.max_wait_s,
	                 "max_batch_runs", (json_int_t)s->cfg.max_batch_runs);
}

void svc_handle_info(struct svc *s, struct http_req *r)
{
	svc_refresh_registry(s);
	http_send_json(r, 200,
	               json_pack("{s:s, s:s, s:s, s:o, s:o, s:o, s:o, s:i, s:I, s:o, s:o}",
	                         "name", PACKAGE_NAME, "version", PACKAGE_VERSION,
	                         "default_template", s->cfg.template_name,
	                         "templates", templates_list(&s->reg),
	                         "limits", limits_json(&s->cfg.req),
	                         "caps", caps_json(&s->cfg.req),
	                         "isolation", resp_isolation(jail_get_info(s->jail)),
	                         "pool_size", (int)s->cfg.pool_size,
	                         "queue_timeout_ms", (json_int_t)s->cfg.queue_timeout_ms,
	                         "async", async_json(s),
	                         "warm", warm_json(s)),
	               NULL);
}

void svc_handle_runtimes(struct svc *s, struct http_req *r)
{
	json_t *body;

	svc_refresh_registry(s);
	body = rt_registry_json(&s->reg);
	if (!json_is_object(body)) {
		/* Keep the answer an object so request_id can be added. */
		body = json_pack("{s:o}", "templates", body);
	}
	http_send_json(r, 200, body, NULL);
}

/* The document is docs/openapi.json as built in (src/fcgi/module.mk), so
 * the binary answers with the description of its own API, whatever is on
 * disk; tests/integration/test_openapi.py holds the two together. */
void svc_handle_openapi(struct svc *s, struct http_req *r)
{
	(void)s;
	http_send_text(r, (const char *)openapi_doc, openapi_doc_len);
}

/*
 * req_session.c - POST /api/sandbox/sessions: the body into a struct
 * req_session. Same rules as a run's body (streamed under the same caps,
 * strict keys, fields named in errors); "limits" and "env" are checked
 * exactly as a run's and kept as given, as the session's defaults.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/api_load.h"
#include "api/req_private.h"
#include "common/json_util.h"

static const char *const ses_keys[] = {
	"template", "ttl_s", "idle_timeout_s", "disk_mb", "limits", "env", NULL,
};

/* An integer field within r (absent: r->def). */
static int ses_num(json_t *root, const char *key, const struct req_range *r, uint64_t *out,
                   struct req_error *err)
{
	json_t *v = json_object_get(root, key);

	if (!v) {
		*out = r->def;
		return 0;
	}
	if (!json_is_integer(v) || json_integer_value(v) < 0 ||
	    (uint64_t)json_integer_value(v) < r->min || (uint64_t)json_integer_value(v) > r->max)
		return req_fail(err, 400, "invalid_field", key, "%s must be an integer from %llu to %llu",
		                key, (unsigned long long)r->min, (unsigned long long)r->max);
	*out = (uint64_t)json_integer_value(v);
	return 0;
}

/* limits and env validated by the run's own steps, on a scratch job whose
 * runtime has no overrides. */
static int ses_defaults(json_t *root, const struct req_config *cfg, struct req_session *out,
                        struct req_error *err)
{
	static const struct rt_runtime none;
	json_t *limits = json_object_get(root, "limits"), *env = json_object_get(root, "env");
	struct req_job job;
	int rc;

	memset(&job, 0, sizeof job);
	job.runtime = &none;
	rc = req_parse_limits(limits, cfg, &job, err);
	if (rc == 0)
		rc = req_parse_env(env, cfg, &job, err);
	req_job_free(&job);
	if (rc != 0)
		return -1;
	out->defaults = json_object();
	if (!out->defaults ||
	    json_object_set_new(out->defaults, "limits", limits ? json_deep_copy(limits) : json_object()) ||
	    json_object_set_new(out->defaults, "env", env ? json_deep_copy(env) : json_object()))
		return req_fail(err, 500, "internal", "", "out of memory");
	return 0;
}

static int ses_root(json_t *root, const struct req_config *cfg, const struct rt_registry *reg,
                    struct req_session *out, struct req_error *err)
{
	json_t *tv;
	const char *key;
	const char *tname = cfg->default_template;

	if (!json_is_object(root))
		return req_fail(err, 400, "invalid_json", "", "the request body must be a JSON object");
	if ((key = json_unknown_key(root, ses_keys)))
		return req_fail(err, 400, "unknown_field", key, "unknown field '%s'", key);
	tv = json_object_get(root, "template");
	if (tv && !json_is_string(tv))
		return req_fail(err, 400, "invalid_field", "template", "template must be a string");
	if (tv)
		tname = json_string_value(tv);
	out->tmpl = rt_find_template(reg, tname);
	if (!out->tmpl || (tv && strlen(tname) != json_string_length(tv)))
		return req_fail_template(reg, tname, err);
	if (ses_num(root, "ttl_s", &cfg->ses_ttl_s, &out->ttl_s, err) ||
	    ses_num(root, "idle_timeout_s", &cfg->ses_idle_timeout_s, &out->idle_timeout_s, err) ||
	    ses_num(root, "disk_mb", &cfg->ses_disk_mb, &out->disk_mb, err))
		return -1;
	return ses_defaults(root, cfg, out, err);
}

int req_parse_session_stream(req_read_fn read, void *ctx, const struct req_config *cfg,
                             const struct rt_registry *reg, struct req_session *out,
                             struct req_error *err)
{
	struct api_load l;
	json_error_t je;
	json_t *root;
	int rc;

	memset(out, 0, sizeof *out);
	memset(err, 0, sizeof *err);
	api_load_init(&l, read, ctx, cfg->max_body_bytes, cfg->max_json_depth,
	              cfg->max_json_values, req_parse_budget(cfg));
	root = api_load(&l, JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL, &je);
	if (!root)
		return req_fail_load(&l, cfg, &je, err);
	rc = ses_root(root, cfg, reg, out, err);
	json_decref(root);
	if (rc)
		req_session_free(out);
	return rc;
}

void req_session_free(struct req_session *s)
{
	json_decref(s->defaults);
	s->defaults = NULL;
}

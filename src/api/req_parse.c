/*
 * req_parse.c - POST /api/sandbox/run: the body into a struct req_job.
 * Strict by design: duplicate keys, unknown fields, wrong types and values
 * out of range are refused with the field named, never guessed at or
 * clamped, so a client learns at once what the service will really do.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/api_load.h"
#include "api/req_private.h"
#include "common/json_util.h"
#include "common/path.h"
#include "common/strv.h"

static const char *const top_keys[] = {
	"runtime", "template", "code", "files", "entrypoint", "args", "stdin",
	"env", "handler", "event", "limits", "outputs", "stream", NULL,
};

static const char *const limit_keys[] = {
	"wall_time_ms", "cpu_time_ms", "memory_mb", "max_processes", "max_output_bytes",
	"compile_wall_time_ms", "compile_memory_mb", NULL,
};

void req_config_defaults(struct req_config *c)
{
	memset(c, 0, sizeof *c);
	/* Base64 makes 8 MiB of files about 10.7 MiB, plus 8 MiB of stdin. */
	c->max_body_bytes = 24u << 20;
	c->max_code_bytes = 128u << 10;
	c->max_files = 32;
	c->max_file_bytes = 2u << 20;
	c->max_files_total_bytes = 8u << 20;
	c->max_path_depth = PATH_DEFAULT_MAX_DEPTH;
	c->max_args = 256;
	c->max_arg_bytes = 64u << 10;
	c->max_env = 64;
	c->max_env_bytes = 32u << 10;
	c->max_stdin_bytes = 8u << 20;
	c->max_outputs = 32;
	c->max_output_files = 32;
	c->max_output_file_bytes = 2u << 20;
	c->max_output_total_bytes = 8u << 20;
	c->max_event_bytes = 1u << 20;
	c->wall_time_ms = (struct req_range){ 1, 10000, 120000 };
	c->cpu_time_ms = (struct req_range){ 1, 0, 120000 };   /* def 0: = wall */
	c->memory_mb = (struct req_range){ 16, 256, 4096 };
	c->max_processes = (struct req_range){ 1, 64, 1024 };
	c->max_output_bytes = (struct req_range){ 1u << 10, 1u << 20, 16u << 20 };
	c->max_file_size_bytes = 64u << 20;
	c->max_open_files = 256;
	c->work_mb = 64;
	c->tmp_mb = 64;
	c->default_template = "minimal";
	c->max_json_depth = 32;
	/* A value costs jansson up to ~250 bytes ("{}" in an array): 100000
	 * values stay near 25 MiB, and a 1 MiB event of ordinary JSON holds far
	 * fewer. The byte budget covers long strings: jansson keeps the text
	 * of the longest one next to the tree (docs/OPERATIONS.md). */
	c->max_json_values = 100000;
	c->max_json_parse_bytes = 0;   /* 0: twice max_body_bytes */
	c->max_result_bytes = 1u << 20;
	c->ses_ttl_s = (struct req_range){ 1, 3600, 86400 };
	c->ses_idle_timeout_s = (struct req_range){ 1, 600, 86400 };
	c->ses_disk_mb = (struct req_range){ 1, 50, 1024 };
	c->compile_defaults = (struct jail_limits){
		.wall_time_ms = 30000, .cpu_time_ms = 30000, .memory_bytes = 512ull << 20,
		.max_processes = 64, .max_output_bytes = 1u << 20,
		.max_file_bytes = 64u << 20, .max_open_files = 256,
	};
}

/* The unknown-key check (json_unknown_key), as the 400 that names it. */
static int check_keys(json_t *obj, const char *const *allowed, const char *prefix,
                      struct req_error *err)
{
	const char *key = json_unknown_key(obj, allowed);
	char fld[128];

	if (!key)
		return 0;
	snprintf(fld, sizeof fld, "%s%s", prefix, key);
	return req_fail(err, 400, "unknown_field", fld, "unknown field '%s'", fld);
}

/* Appends to a message buffer, silently stopping at its end. */
static void msg_append(char *buf, size_t size, const char *s)
{
	size_t n = strlen(buf);
	if (n + 1 < size)
		snprintf(buf + n, size - n, "%s", s);
}

int req_fail_template(const struct rt_registry *reg, const char *name, struct req_error *err)
{
	char list[384] = "";
	for (size_t i = 0; i < reg->ntemplates; i++) {
		msg_append(list, sizeof list, i ? ", " : "");
		msg_append(list, sizeof list, reg->templates[i].name);
	}
	return req_fail(err, 400, "unknown_template", "template",
	                "unknown template '%.64s'; available: %s", name, list[0] ? list : "(none)");
}

static int fail_runtime(const struct rt_template *t, const char *spec, struct req_error *err)
{
	char list[400] = "";
	for (size_t i = 0; i < t->nruntimes; i++) {
		const struct rt_runtime *r = &t->runtimes[i];
		msg_append(list, sizeof list, i ? ", " : "");
		msg_append(list, sizeof list, r->name);
		msg_append(list, sizeof list, " ");
		msg_append(list, sizeof list, r->version);
		for (size_t a = 0; r->aliases && r->aliases[a]; a++) {
			msg_append(list, sizeof list, a ? ", " : " (alias ");
			msg_append(list, sizeof list, r->aliases[a]);
		}
		if (r->aliases && r->aliases[0])
			msg_append(list, sizeof list, ")");
	}
	return req_fail(err, 400, "unknown_runtime", "runtime",
	                "unknown runtime '%.48s' in template '%.32s'; available: %s",
	                spec, t->name, list[0] ? list : "(none)");
}

/* A session's plain command: no file, no run command of its own (the
 * entrypoint is required), no compile step, no handler, and the operator's
 * default limits (no runtime overrides). */
static char plain_name[] = "command";
const struct rt_runtime req_plain_runtime = { .name = plain_name };

static int parse_runtime(json_t *root, const struct req_config *cfg,
                         const struct rt_registry *reg, const struct req_session_run *sr,
                         struct req_job *job, struct req_error *err)
{
	json_t *tv = json_object_get(root, "template"), *rv = json_object_get(root, "runtime");
	const char *tname = sr ? sr->tmpl : cfg->default_template;

	if (tv && !json_is_string(tv))
		return req_fail(err, 400, "invalid_field", "template", "template must be a string");
	if (tv && sr && (strcmp(json_string_value(tv), sr->tmpl) != 0 ||
	                 strlen(sr->tmpl) != json_string_length(tv)))
		return req_fail(err, 400, "invalid_field", "template",
		                "a session run uses the session's template '%.48s'", sr->tmpl);
	if (tv)
		tname = json_string_value(tv);
	job->tmpl = rt_find_template(reg, tname);
	if (!job->tmpl || (tv && strlen(tname) != json_string_length(tv)))
		return req_fail_template(reg, tname, err);
	if (!rv && sr && json_object_get(root, "entrypoint")) {
		job->runtime = &req_plain_runtime;
		return 0;
	}
	if (!rv)
		return req_fail(err, 400, "missing_field", "runtime",
		                sr ? "runtime is required without an entrypoint"
		                   : "runtime is required");
	if (!json_is_string(rv))
		return req_fail(err, 400, "invalid_field", "runtime", "runtime must be a string");
	job->runtime = rt_find_runtime(job->tmpl, json_string_value(rv));
	if (!job->runtime || strlen(json_string_value(rv)) != json_string_length(rv))
		return fail_runtime(job->tmpl, json_string_value(rv), err);
	return 0;
}

/* One limit: absent -> the runtime's default (held within the operator's
 * range) or the config default; present -> an integer inside the range. */
static int parse_limit(json_t *limits, const char *key, const struct req_range *r,
                       uint64_t override, uint64_t *out, struct req_error *err)
{
	char fld[64];
	json_t *v = limits ? json_object_get(limits, key) : NULL;

	snprintf(fld, sizeof fld, "limits.%s", key);
	if (!v) {
		*out = override ? override : r->def;
		if (*out && *out < r->min)
			*out = r->min;
		if (*out > r->max)
			*out = r->max;
		return 0;
	}
	if (!json_is_integer(v) || json_integer_value(v) < 0 ||
	    (uint64_t)json_integer_value(v) < r->min || (uint64_t)json_integer_value(v) > r->max)
		return req_fail(err, 400, "invalid_field", fld, "%s must be an integer from %llu to %llu",
		                fld, (unsigned long long)r->min, (unsigned long long)r->max);
	*out = (uint64_t)json_integer_value(v);
	return 0;
}

/* The run step's limits: limits (a JSON object or NULL) over the runtime's
 * overrides o over the configured defaults. */
static int limits_fill(json_t *limits, const struct req_config *cfg,
                       const struct rt_limits_override *o, struct jail_limits *l,
                       struct req_error *err)
{
	uint64_t mb;

	if (limits && !json_is_object(limits))
		return req_fail(err, 400, "invalid_field", "limits", "limits must be an object");
	if (limits && check_keys(limits, limit_keys, "limits.", err))
		return -1;
	if (parse_limit(limits, "wall_time_ms", &cfg->wall_time_ms, o->wall_time_ms, &l->wall_time_ms, err) ||
	    parse_limit(limits, "cpu_time_ms", &cfg->cpu_time_ms, o->cpu_time_ms, &l->cpu_time_ms, err) ||
	    parse_limit(limits, "memory_mb", &cfg->memory_mb, o->memory_mb, &mb, err) ||
	    parse_limit(limits, "max_processes", &cfg->max_processes, o->max_processes, &l->max_processes, err) ||
	    parse_limit(limits, "max_output_bytes", &cfg->max_output_bytes, o->max_output_bytes,
	                &l->max_output_bytes, err))
		return -1;
	if (!l->cpu_time_ms)
		l->cpu_time_ms = l->wall_time_ms;
	l->memory_bytes = mb << 20;
	l->max_file_bytes = cfg->max_file_size_bytes;
	l->max_open_files = cfg->max_open_files;
	return 0;
}

/* limits.compile_*: only lower than the compile step's own limits (the
 * runtime's, over the configured compile defaults), never above them. A
 * runtime without a compile step refuses them: they would do nothing. */
static int parse_compile_limits(json_t *limits, const struct req_config *cfg,
                                struct req_job *job, struct req_error *err)
{
	json_t *w = limits ? json_object_get(limits, "compile_wall_time_ms") : NULL;
	json_t *m = limits ? json_object_get(limits, "compile_memory_mb") : NULL;
	struct jail_limits base;
	struct req_range wall, mem;

	if (!w && !m)
		return 0;
	if (!job->runtime->compile_argv) {
		const char *fld = w ? "limits.compile_wall_time_ms" : "limits.compile_memory_mb";
		return req_fail(err, 400, "invalid_field", fld, "%s: runtime '%s' has no compile step",
		                fld, job->runtime->name);
	}
	base = req_compile_base(job->runtime, cfg);
	wall = (struct req_range){ 1, 0, base.wall_time_ms };
	mem = (struct req_range){ cfg->memory_mb.min, 0, base.memory_bytes >> 20 };
	return parse_limit(limits, "compile_wall_time_ms", &wall, 0, &job->compile_wall_ms, err) ||
	       parse_limit(limits, "compile_memory_mb", &mem, 0, &job->compile_memory_mb, err) ? -1 : 0;
}

int req_parse_limits(json_t *limits, const struct req_config *cfg,
                     struct req_job *job, struct req_error *err)
{
	return limits_fill(limits, cfg, &job->runtime->limits, &job->limits, err) ||
	       parse_compile_limits(limits, cfg, job, err) ? -1 : 0;
}

void req_config_limits(const struct req_config *cfg, struct jail_limits *l)
{
	static const struct rt_limits_override none;
	struct req_error err;

	memset(l, 0, sizeof *l);
	limits_fill(NULL, cfg, &none, l, &err);   /* no JSON: nothing to refuse */
}

/* A string field copied with its length (NUL bytes allowed: it is data). */
static int parse_blob(json_t *root, const char *key, size_t max, char **out, size_t *outlen,
                      struct req_error *err)
{
	json_t *v = json_object_get(root, key);
	if (!v)
		return 0;
	if (!json_is_string(v))
		return req_fail(err, 400, "invalid_field", key, "%s must be a string", key);
	if (json_string_length(v) > max)
		return req_fail(err, 413, "too_large", key, "%s exceeds %zu bytes", key, max);
	*outlen = json_string_length(v);
	if (!(*out = malloc(*outlen + 1)))
		return req_fail(err, 500, "internal", key, "out of memory");
	memcpy(*out, json_string_value(v), *outlen + 1);
	return 0;
}

static int parse_code_and_files(json_t *root, const struct req_config *cfg, bool session,
                                struct req_job *job, struct req_error *err)
{
	json_t *files = json_object_get(root, "files");
	long clash;

	/* A session's workspace may hold every file the run needs. */
	if (!session && !json_object_get(root, "code") && !files)
		return req_fail(err, 400, "missing_field", "code", "code or files is required");
	if (job->runtime == &req_plain_runtime && json_object_get(root, "code"))
		return req_fail(err, 400, "invalid_field", "code",
		                "code needs a runtime (a plain command runs the entrypoint only)");
	if (files && req_parse_files(files, cfg, job, err))
		return -1;
	if (parse_blob(root, "code", cfg->max_code_bytes, &job->code, &job->code_len, err))
		return -1;
	if (job->code && (clash = req_path_clash(job, job->runtime->file)) >= 0) {
		char fld[64];
		snprintf(fld, sizeof fld, "files[%ld].path", clash);
		return req_fail(err, 400, "invalid_field", fld, "%s clashes with '%s', the file written "
		                "from code", fld, job->runtime->file);
	}
	return 0;
}

/* The session's defaults under the request's values: for "limits" and
 * "env", each name the request does not give is taken from the session.
 * A request value of the wrong type is left for its parser to refuse. */
static int merge_defaults(json_t *root, json_t *defaults, struct req_error *err)
{
	static const char *const keys[] = { "limits", "env", NULL };

	for (size_t i = 0; defaults && keys[i]; i++) {
		json_t *d = json_object_get(defaults, keys[i]), *mine = json_object_get(root, keys[i]);
		const char *name;
		json_t *v;

		if (!json_is_object(d))
			continue;
		if (!mine) {
			if (json_object_set_new(root, keys[i], json_deep_copy(d)) < 0)
				return req_fail(err, 500, "internal", keys[i], "out of memory");
			continue;
		}
		if (!json_is_object(mine))
			continue;
		json_object_foreach(d, name, v)
			if (!json_object_get(mine, name) && json_object_set(mine, name, v) < 0)
				return req_fail(err, 500, "internal", keys[i], "out of memory");
	}
	return 0;
}

static int parse_root(json_t *root, const struct req_config *cfg, const struct rt_registry *reg,
                      const struct req_session_run *sr, struct req_job *job,
                      struct req_compat *rn, struct req_error *err)
{
	json_t *v;

	if (!json_is_object(root))
		return req_fail(err, 400, "invalid_json", "", "the request body must be a JSON object");
	if (req_compat_normalize(root, cfg, job, rn, err) || check_keys(root, top_keys, "", err) ||
	    parse_runtime(root, cfg, reg, sr, job, err) ||
	    (sr && merge_defaults(root, sr->defaults, err)) ||
	    parse_code_and_files(root, cfg, sr != NULL, job, err) ||
	    parse_blob(root, "stdin", cfg->max_stdin_bytes, &job->stdin_data, &job->stdin_len, err) ||
	    req_parse_env(json_object_get(root, "env"), cfg, job, err) ||
	    req_parse_limits(json_object_get(root, "limits"), cfg, job, err) ||
	    req_parse_command(root, cfg, job, err))
		return -1;
	if ((v = json_object_get(root, "outputs")) && req_parse_outputs(v, cfg, job, err))
		return -1;
	if ((v = json_object_get(root, "stream"))) {
		/* Only how the answer is sent (docs/API.md, "Live output"). */
		if (!json_is_boolean(v))
			return req_fail(err, 400, "invalid_field", "stream", "stream must be a boolean");
		job->stream = json_is_true(v);
		job->stream_set = true;
	}
	if (job->runtime->compile_argv) {
		const char *const keys[] = { "file", NULL };
		const char *const vals[] = { job->runtime->file, NULL };
		if (!(job->compile_argv = strv_subst_all(job->runtime->compile_argv, keys, vals)))
			return req_fail(err, 500, "internal", "runtime", "out of memory");
	}
	return 0;
}

size_t req_parse_budget(const struct req_config *cfg)
{
	return cfg->max_json_parse_bytes ? cfg->max_json_parse_bytes : 2 * cfg->max_body_bytes;
}

/* Why the body could not become a tree, as the 4xx that says so. */
int req_fail_load(const struct api_load *l, const struct req_config *cfg,
                     const json_error_t *je, struct req_error *err)
{
	const char *fld = l->scan.field, *in = fld[0] ? "; the limit was reached in " : "";

	switch (l->fail) {
	case API_LOAD_SHORT:
		return req_fail(err, 400, "invalid_request", "", "incomplete request body");
	case API_LOAD_TOO_LARGE:
		return req_fail(err, 413, "too_large", "", "request body exceeds %zu bytes",
		                cfg->max_body_bytes);
	case API_LOAD_SCAN:
		if (l->scan.status == REQ_SCAN_TOO_DEEP)
			return req_fail(err, 400, "invalid_json", fld, "JSON nested deeper than %zu levels",
			                cfg->max_json_depth);
		return req_fail(err, 413, "too_large", fld, "the request body holds more than %zu "
		                "JSON values (object keys included)%s%s", cfg->max_json_values, in, fld);
	case API_LOAD_BUDGET:
		return req_fail(err, 413, "too_large", fld, "parsing the request body needs more than "
		                "%zu MiB%s%s", req_parse_budget(cfg) >> 20, in, fld);
	case API_LOAD_OK:
	default:
		return req_fail(err, 400, "invalid_json", "", "invalid JSON at line %d, column %d: %s",
		                je->line, je->column, je->text);
	}
}

json_t *req_load_body(req_read_fn read, void *ctx, const struct req_config *cfg,
                      struct req_error *err)
{
	struct api_load l;
	json_error_t je;
	json_t *root;

	memset(err, 0, sizeof *err);
	api_load_init(&l, read, ctx, cfg->max_body_bytes, cfg->max_json_depth,
	              cfg->max_json_values, req_parse_budget(cfg));
	/* JSON_ALLOW_NUL: "\u0000" parses, so that a NUL in a path or an env
	 * value is refused by the check that names its field. */
	root = api_load(&l, JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL, &je);
	if (!root)
		req_fail_load(&l, cfg, &je, err);
	return root;
}

/* A loaded body as a run (sr NULL) or as a session run. */
static int parse_json(json_t *root, const struct req_config *cfg, const struct rt_registry *reg,
                      const struct req_session_run *sr, struct req_job *job, struct req_error *err)
{
	struct req_compat rn = { .n = 0 };
	int rc;

	memset(job, 0, sizeof *job);
	memset(err, 0, sizeof *err);
	rc = parse_root(root, cfg, reg, sr, job, &rn, err);
	if (rc) {
		req_compat_error(&rn, err);
		req_job_free(job);
	}
	return rc;
}

int req_parse_run_json(json_t *root, const struct req_config *cfg,
                       const struct rt_registry *reg, struct req_job *job, struct req_error *err)
{
	return parse_json(root, cfg, reg, NULL, job, err);
}

static int parse_stream(req_read_fn read, void *ctx, const struct req_config *cfg,
                        const struct rt_registry *reg, const struct req_session_run *sr,
                        struct req_job *job, struct req_error *err)
{
	json_t *root;
	int rc;

	memset(job, 0, sizeof *job);
	root = req_load_body(read, ctx, cfg, err);
	if (!root)
		return -1;
	rc = parse_json(root, cfg, reg, sr, job, err);
	json_decref(root);
	return rc;
}

int req_parse_run_stream(req_read_fn read, void *ctx, const struct req_config *cfg,
                         const struct rt_registry *reg, struct req_job *job, struct req_error *err)
{
	return parse_stream(read, ctx, cfg, reg, NULL, job, err);
}

int req_parse_session_run_stream(req_read_fn read, void *ctx, const struct req_config *cfg,
                                 const struct rt_registry *reg,
                                 const struct req_session_run *sr, struct req_job *job,
                                 struct req_error *err)
{
	return parse_stream(read, ctx, cfg, reg, sr, job, err);
}

int req_parse_run(const char *body, size_t len, const struct req_config *cfg,
                  const struct rt_registry *reg, struct req_job *job, struct req_error *err)
{
	struct api_mem_src m = { body, len };

	if (len > cfg->max_body_bytes) {
		memset(job, 0, sizeof *job);
		memset(err, 0, sizeof *err);
		return req_fail(err, 413, "too_large", "", "request body exceeds %zu bytes",
		                cfg->max_body_bytes);
	}
	return req_parse_run_stream(api_mem_read, &m, cfg, reg, job, err);
}

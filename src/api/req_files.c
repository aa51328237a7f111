/*
 * req_files.c - the parts of a request that become files and environment:
 * "files", "outputs" and "env".
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/req_private.h"
#include "common/b64.h"
#include "common/json_util.h"
#include "common/path.h"
#include "common/strv.h"

static const char *const file_keys[] = { "path", "content", "encoding", "executable", NULL };

static int file_unknown_keys(json_t *f, const char *field, struct req_error *err)
{
	const char *key = json_unknown_key(f, file_keys);
	char fld[128];

	if (!key)
		return 0;
	snprintf(fld, sizeof fld, "%s.%s", field, key);
	return req_fail(err, 400, "unknown_field", fld, "unknown field '%s' "
	                "(allowed: path, content, encoding, executable)", fld);
}

static int file_path(json_t *f, const char *field, const struct req_config *cfg,
                     struct req_job *job, char **ret, struct req_error *err)
{
	char fld[128];
	json_t *p = json_object_get(f, "path");
	snprintf(fld, sizeof fld, "%s.path", field);
	if (!p)
		return req_fail(err, 400, "missing_field", fld, "%s is required", fld);
	if (!json_is_string(p))
		return req_fail(err, 400, "invalid_field", fld, "%s must be a string", fld);
	const char *why = path_check(json_string_value(p), json_string_length(p), cfg->max_path_depth);
	if (why)
		return req_fail(err, 400, "invalid_field", fld, "%s: %s (relative path, no '.', '..' "
		                "or empty components, at most %zu deep)", fld, why, cfg->max_path_depth);
	long other = req_path_clash(job, json_string_value(p));
	if (other >= 0)
		return req_fail(err, 400, "invalid_field", fld, "%s: clashes with files[%ld].path "
		                "(the same path, or one is a directory of the other)", fld, other);
	return (*ret = strdup(json_string_value(p))) ? 0 :
		req_fail(err, 500, "internal", fld, "out of memory");
}

static int file_encoding(json_t *f, const char *field, bool *b64, struct req_error *err)
{
	char fld[128];
	json_t *e = json_object_get(f, "encoding");
	snprintf(fld, sizeof fld, "%s.encoding", field);
	*b64 = false;
	if (!e)
		return 0;
	if (json_is_string(e) && strcmp(json_string_value(e), "utf8") == 0)
		return 0;
	if (json_is_string(e) && strcmp(json_string_value(e), "base64") == 0)
		return *b64 = true, 0;
	return req_fail(err, 400, "invalid_field", fld, "%s must be \"utf8\" or \"base64\"", fld);
}

static int file_content(json_t *f, const char *field, const struct req_config *cfg,
                        struct req_file *out, struct req_error *err)
{
	char fld[128];
	bool b64;
	json_t *c = json_object_get(f, "content");
	snprintf(fld, sizeof fld, "%s.content", field);
	if (file_encoding(f, field, &b64, err))
		return -1;
	if (!c)
		return req_fail(err, 400, "missing_field", fld, "%s is required", fld);
	if (!json_is_string(c))
		return req_fail(err, 400, "invalid_field", fld, "%s must be a string", fld);
	const char *s = json_string_value(c);
	size_t n = json_string_length(c);
	/* Size is checked before decoding so an oversized file costs nothing. */
	if (n > (b64 ? (cfg->max_file_bytes + 2) / 3 * 4 : cfg->max_file_bytes))
		return req_fail(err, 413, "too_large", fld, "%s exceeds %zu bytes", fld, cfg->max_file_bytes);
	if (b64) {
		if (b64_decode(s, n, &out->data, &out->len))
			return req_fail(err, 400, "invalid_field", fld, "%s is not valid base64 "
			                "(standard alphabet, padded, no whitespace)", fld);
		if (out->len > cfg->max_file_bytes)
			return req_fail(err, 413, "too_large", fld, "%s exceeds %zu bytes", fld, cfg->max_file_bytes);
		return 0;
	}
	if (!(out->data = malloc(n + 1)))
		return req_fail(err, 500, "internal", fld, "out of memory");
	memcpy(out->data, s, n + 1);
	out->len = n;
	return 0;
}

static int file_exec(json_t *f, const char *field, bool *x, struct req_error *err)
{
	char fld[128];
	json_t *e = json_object_get(f, "executable");
	snprintf(fld, sizeof fld, "%s.executable", field);
	*x = false;
	if (!e)
		return 0;
	if (!json_is_boolean(e))
		return req_fail(err, 400, "invalid_field", fld, "%s must be true or false", fld);
	*x = json_is_true(e);
	return 0;
}

static int parse_file(json_t *f, size_t idx, const struct req_config *cfg,
                      struct req_job *job, size_t *total, struct req_error *err)
{
	char field[64];
	struct req_file *rf = &job->files[job->nfiles];
	snprintf(field, sizeof field, "files[%zu]", idx);
	if (!json_is_object(f))
		return req_fail(err, 400, "invalid_field", field, "%s must be an object", field);
	if (file_unknown_keys(f, field, err) || file_exec(f, field, &rf->executable, err))
		return -1;
	char *path = NULL;
	if (file_path(f, field, cfg, job, &path, err))
		return -1;
	rf->path = path;
	job->nfiles++;   /* from here the job owns rf, freed by req_job_free */
	if (file_content(f, field, cfg, rf, err))
		return -1;
	*total += rf->len;
	if (*total > cfg->max_files_total_bytes)
		return req_fail(err, 413, "too_large", "files", "files exceed %zu bytes in total",
		                cfg->max_files_total_bytes);
	return 0;
}

int req_parse_files(json_t *files, const struct req_config *cfg,
                    struct req_job *job, struct req_error *err)
{
	size_t idx, total = 0;
	json_t *f;

	if (!json_is_array(files))
		return req_fail(err, 400, "invalid_field", "files", "files must be an array");
	if (json_array_size(files) > cfg->max_files)
		return req_fail(err, 413, "too_large", "files", "files has more than %zu entries",
		                cfg->max_files);
	job->files = calloc(json_array_size(files) + 1, sizeof *job->files);
	if (!job->files)
		return req_fail(err, 500, "internal", "files", "out of memory");
	json_array_foreach(files, idx, f) {
		if (parse_file(f, idx, cfg, job, &total, err))
			return -1;
	}
	return 0;
}

int req_parse_outputs(json_t *outputs, const struct req_config *cfg,
                      struct req_job *job, struct req_error *err)
{
	size_t idx;
	json_t *o;
	char fld[64];

	if (!json_is_array(outputs))
		return req_fail(err, 400, "invalid_field", "outputs", "outputs must be an array of strings");
	if (json_array_size(outputs) > cfg->max_outputs)
		return req_fail(err, 413, "too_large", "outputs", "outputs has more than %zu patterns",
		                cfg->max_outputs);
	if (!(job->outputs = strv_new(json_array_size(outputs))))
		return req_fail(err, 500, "internal", "outputs", "out of memory");
	json_array_foreach(outputs, idx, o) {
		snprintf(fld, sizeof fld, "outputs[%zu]", idx);
		if (!json_is_string(o))
			return req_fail(err, 400, "invalid_field", fld, "%s must be a string", fld);
		const char *why = path_check(json_string_value(o), json_string_length(o),
		                                 cfg->max_path_depth);
		if (why)
			return req_fail(err, 400, "invalid_field", fld, "%s: %s", fld, why);
		if (!(job->outputs[job->noutputs] = strdup(json_string_value(o))))
			return req_fail(err, 500, "internal", fld, "out of memory");
		job->noutputs++;
	}
	return 0;
}

/* The responder's defaults; a user value with the same name wins. */
static const char *const env_defaults[] = {
	"PATH=/usr/local/bin:/usr/bin:/bin", "HOME=" JAIL_WORK_DIR, "LANG=C.UTF-8", "TMPDIR=/tmp", NULL,
};

static int env_one(const char *name, size_t namelen, json_t *v, const struct req_config *cfg,
                   size_t *bytes, char **slot, struct req_error *err)
{
	char fld[128];
	snprintf(fld, sizeof fld, "env.%s", name);
	const char *why = namelen != strlen(name) ? "NUL byte in variable name" :
	                  req_check_env_name(name);
	if (why)
		return req_fail(err, 400, "invalid_field", fld, "%s: %s", fld, why);
	if (!json_is_string(v))
		return req_fail(err, 400, "invalid_field", fld, "%s must be a string", fld);
	size_t vl = json_string_length(v), nl = strlen(name);
	if (strlen(json_string_value(v)) != vl)
		return req_fail(err, 400, "invalid_field", fld, "%s contains a NUL byte", fld);
	*bytes += nl + vl + 2;
	if (*bytes > cfg->max_env_bytes)
		return req_fail(err, 413, "too_large", "env", "env exceeds %zu bytes", cfg->max_env_bytes);
	if (!(*slot = malloc(nl + vl + 2)))
		return req_fail(err, 500, "internal", fld, "out of memory");
	memcpy(*slot, name, nl);
	(*slot)[nl] = '=';
	memcpy(*slot + nl + 1, json_string_value(v), vl + 1);
	return 0;
}

static bool env_has(char **envp, size_t n, const char *def)
{
	size_t nl = strcspn(def, "=") + 1;
	for (size_t i = 0; i < n; i++)
		if (strncmp(envp[i], def, nl) == 0)
			return true;
	return false;
}

int req_parse_env(json_t *env, const struct req_config *cfg,
                  struct req_job *job, struct req_error *err)
{
	const char *name;
	size_t namelen;
	json_t *v;
	size_t n = 0, bytes = 0, ndef = sizeof env_defaults / sizeof *env_defaults - 1;

	if (env && !json_is_object(env))
		return req_fail(err, 400, "invalid_field", "env", "env must be an object of strings");
	if (env && json_object_size(env) > cfg->max_env)
		return req_fail(err, 413, "too_large", "env", "env has more than %zu variables", cfg->max_env);
	if (!(job->envp = strv_new((env ? json_object_size(env) : 0) + ndef)))
		return req_fail(err, 500, "internal", "env", "out of memory");
	if (env) {
		json_object_keylen_foreach(env, name, namelen, v) {
			if (env_one(name, namelen, v, cfg, &bytes, &job->envp[n], err))
				return -1;
			n++;
		}
	}
	for (size_t i = 0; i < ndef; i++) {
		if (env_has(job->envp, n, env_defaults[i]))
			continue;
		if (!(job->envp[n] = strdup(env_defaults[i])))
			return req_fail(err, 500, "internal", "env", "out of memory");
		n++;
	}
	return 0;
}

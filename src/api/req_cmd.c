/*
 * req_cmd.c - what runs: "entrypoint" + "args", or handler mode ("handler",
 * "event") which runs the runtime's shim instead. The argv goes to execve()
 * as it is; no shell ever sees it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/req_private.h"
#include "common/path.h"
#include "common/strv.h"

#define REQ_MAX_HANDLER 255

/* A JSON string that C can carry: no embedded NUL. */
static bool plain_string(json_t *v)
{
	return json_is_string(v) && strlen(json_string_value(v)) == json_string_length(v);
}

/* Appends strings of src to *argv (NULL-terminated, n entries). */
static int argv_append(char ***argv, size_t *n, char *const *src, size_t nsrc)
{
	char **v = realloc(*argv, (*n + nsrc + 1) * sizeof(char *));
	if (!v)
		return -1;
	*argv = v;
	for (size_t i = 0; i < nsrc; i++) {
		if (!(v[*n] = strdup(src[i]))) {
			v[*n] = NULL;
			return -1;
		}
		(*n)++;
	}
	v[*n] = NULL;
	return 0;
}

/* Count and byte caps shared by entrypoint and args. */
static int words_caps(char *const *w, size_t n, const char *field,
                      const struct req_config *cfg, struct req_error *err)
{
	size_t bytes = 0;
	if (n > cfg->max_args)
		return req_fail(err, 413, "too_large", field, "%s has more than %zu words", field, cfg->max_args);
	for (size_t i = 0; i < n; i++)
		bytes += strlen(w[i]) + 1;
	if (bytes > cfg->max_arg_bytes)
		return req_fail(err, 413, "too_large", field, "%s exceeds %zu bytes", field, cfg->max_arg_bytes);
	return 0;
}

/* A JSON array of strings into a string vector; field names the array. */
static int string_array(json_t *a, const char *field, char ***out, struct req_error *err)
{
	size_t idx;
	json_t *s;
	char fld[64];

	if (!json_is_array(a))
		return req_fail(err, 400, "invalid_field", field, "%s must be an array of strings", field);
	if (!(*out = strv_new(json_array_size(a))))
		return req_fail(err, 500, "internal", field, "out of memory");
	json_array_foreach(a, idx, s) {
		snprintf(fld, sizeof fld, "%s[%zu]", field, idx);
		if (!plain_string(s))
			return req_fail(err, 400, "invalid_field", fld, "%s must be a string without NUL bytes", fld);
		if (!((*out)[idx] = strdup(json_string_value(s))))
			return req_fail(err, 500, "internal", fld, "out of memory");
	}
	return 0;
}

static int entrypoint_words(json_t *ep, char ***out, struct req_error *err)
{
	const char *why;

	if (json_is_array(ep))
		return string_array(ep, "entrypoint", out, err);
	if (!plain_string(ep))
		return req_fail(err, 400, "invalid_field", "entrypoint",
		                "entrypoint must be a string or an array of strings, without NUL bytes");
	if (!(*out = req_split_words(json_string_value(ep), &why)))
		return req_fail(err, 400, "invalid_field", "entrypoint", "entrypoint: %s", why);
	return 0;
}

static int parse_entrypoint(json_t *ep, const struct req_config *cfg,
                            struct req_job *job, char ***words, struct req_error *err)
{
	const char *const keys[] = { "file", NULL };
	const char *const vals[] = { job->runtime->file, NULL };

	if (!ep) {
		*words = strv_subst_all(job->runtime->run_argv, keys, vals);
		return *words ? 0 : req_fail(err, 500, "internal", "entrypoint", "out of memory");
	}
	if (entrypoint_words(ep, words, err))
		return -1;
	if (!(*words)[0] || !(*words)[0][0])
		return req_fail(err, 400, "invalid_field", "entrypoint",
		                "entrypoint must name a program (it is empty)");
	return words_caps(*words, strv_len(*words), "entrypoint", cfg, err);
}

static int parse_plain_command(json_t *root, const struct req_config *cfg,
                               struct req_job *job, struct req_error *err)
{
	char **words = NULL, **args = NULL;
	size_t n = 0;
	json_t *a = json_object_get(root, "args");
	int rc = -1;

	if (parse_entrypoint(json_object_get(root, "entrypoint"), cfg, job, &words, err))
		goto out;
	if (a && (string_array(a, "args", &args, err) ||
	          words_caps(args, strv_len(args), "args", cfg, err)))
		goto out;
	if (argv_append(&job->argv, &n, words, strv_len(words)) ||
	    argv_append(&job->argv, &n, args, strv_len(args))) {
		req_fail(err, 500, "internal", "entrypoint", "out of memory");
		goto out;
	}
	rc = 0;
out:
	strv_free(words);
	strv_free(args);
	return rc;
}

static bool ident_char(char c, bool first)
{
	return c == '_' || c == '$' || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
	       (!first && c >= '0' && c <= '9');
}

/* "module.function" split at the last dot: the module a relative path
 * (Python may use dotted packages "pkg.mod", Node a path "src/app"; the
 * shim resolves it inside /work) and the function an identifier. Checked
 * strictly because the shims import it. */
static const char *check_handler(const char *h, size_t len, size_t max_depth)
{
	const char *dot = strrchr(h, '.');

	if (len != strlen(h) || len > REQ_MAX_HANDLER)
		return "must be at most 255 bytes, without NUL";
	if (!dot || dot == h || !dot[1])
		return "must look like file.function, e.g. main.handler";
	for (const char *p = h; p < dot; p++)
		if (!(ident_char(*p, false) || *p == '/' || *p == '-' || *p == '.') || *p == '$')
			return "module part may contain only letters, digits, '_', '-', '.' and '/'";
	if (path_check(h, (size_t)(dot - h), max_depth))
		return "module part must be a relative path without empty, '.' or '..' components";
	for (const char *p = dot + 1; *p; p++)
		if (!ident_char(*p, p == dot + 1))
			return "function part must be an identifier";
	return NULL;
}

#define EVENT_DUMP_FLAGS (JSON_ENCODE_ANY | JSON_COMPACT | JSON_PRESERVE_ORDER)

struct dump_count { size_t n, max; };

/* json_dump_callback_t that only counts, and stops past the cap. */
static int dump_count(const char *buf, size_t len, void *data)
{
	struct dump_count *c = data;

	(void)buf;
	c->n += len;
	return c->n > c->max ? -1 : 0;
}

static bool event_too_long(json_t *ev, size_t max)
{
	struct dump_count c = { 0, max };

	return json_dump_callback(ev, dump_count, &c, EVENT_DUMP_FLAGS) != 0 || c.n > max;
}

static int parse_handler_fields(json_t *root, const struct req_config *cfg,
                                struct req_job *job, struct req_error *err)
{
	json_t *h = json_object_get(root, "handler"), *ev = json_object_get(root, "event");
	const char *why;

	if (h && !json_is_string(h))
		return req_fail(err, 400, "invalid_field", "handler", "handler must be a string");
	if (h && (why = check_handler(json_string_value(h), json_string_length(h), cfg->max_path_depth)))
		return req_fail(err, 400, "invalid_field", "handler", "handler %s", why);
	if (!(job->handler = strdup(h ? json_string_value(h) : "main.handler")))
		return req_fail(err, 500, "internal", "handler", "out of memory");
	/* Measured before it is built: the whole body's event serialized would
	 * cost its full size (and more: a number may print longer than it was
	 * written) only to be refused. */
	if (event_too_long(ev ? ev : json_null(), cfg->max_event_bytes))
		return req_fail(err, 413, "too_large", "event", "event exceeds %zu bytes when serialized",
		                cfg->max_event_bytes);
	/* Compact and with \u-escapes only where JSON needs them: the shim gets
	 * exactly the value the client sent (keys in their order). */
	job->event_json = json_dumps(ev ? ev : json_null(), EVENT_DUMP_FLAGS);
	if (!job->event_json)
		return req_fail(err, 500, "internal", "event", "out of memory");
	return 0;
}

static int parse_handler_command(json_t *root, const struct req_config *cfg,
                                 struct req_job *job, struct req_error *err)
{
	const char *field = json_object_get(root, "handler") ? "handler" : "event";
	if (!job->runtime->handler_argv)
		return req_fail(err, 400, "invalid_field", field, "runtime '%s' has no handler mode",
		                job->runtime->name);
	/* The shim owns argv in handler mode; a user command would be ignored,
	 * so it is refused rather than silently dropped. */
	if (json_object_get(root, "entrypoint"))
		return req_fail(err, 400, "invalid_field", "entrypoint",
		                "entrypoint cannot be combined with handler/event");
	if (json_object_get(root, "args"))
		return req_fail(err, 400, "invalid_field", "args", "args cannot be combined with handler/event");
	if (parse_handler_fields(root, cfg, job, err))
		return -1;
	const char *const keys[] = { "file", "handler", "event", "result", NULL };
	const char *const vals[] = { job->runtime->file, job->handler,
	                             "/tmp/" REQ_EVENT_PATH, "/tmp/" REQ_RESULT_PATH, NULL };
	if (!(job->argv = strv_subst_all(job->runtime->handler_argv, keys, vals)))
		return req_fail(err, 500, "internal", field, "out of memory");
	job->handler_mode = true;
	return 0;
}

int req_parse_command(json_t *root, const struct req_config *cfg,
                      struct req_job *job, struct req_error *err)
{
	if (json_object_get(root, "handler") || json_object_get(root, "event"))
		return parse_handler_command(root, cfg, job, err);
	return parse_plain_command(root, cfg, job, err);
}

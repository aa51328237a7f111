/*
 * req_compat.c - the request shapes of the systems sandbox-fcgi replaces
 * (docs/MIGRATING.md): aliases of our own fields, the client's job id, the
 * encoding of program output, per-request compile limits and the handler
 * context's environment.
 *
 * Why aliases are renamed in the tree: one parser then decides what each
 * field means, so an alias cannot drift from its field. An alias and its
 * field (or two aliases of one field) together are refused, never merged:
 * which one would win is a guess. Errors about a renamed field are renamed
 * back (req_compat_error) so the client reads the name it wrote.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/req_private.h"

/* Top-level aliases that are the same JSON value under another name. */
static const struct { const char *alias, *field; } renames[] = {
	{ "language", "runtime" },      /* Bubblewrap executor */
	{ "env_vars", "env" },          /* Bubblewrap executor */
	{ "input_files", "files" },     /* Rootless-Docker runner */
};

/* Names that all mean one field; the first is ours. */
static const char *const same_wall[] = { "limits.wall_time_ms", "timeout_s", "timeout", NULL };
static const char *const same_job_id[] = { "job_id", "execution_id", NULL };

static json_t *get_dotted(json_t *root, const char *name)
{
	json_t *l;

	if (strncmp(name, "limits.", 7) != 0)
		return json_object_get(root, name);
	l = json_object_get(root, "limits");
	return json_is_object(l) ? json_object_get(l, name + 7) : NULL;
}

/* At most one name of a group; returns the one given (or NULL). */
static int one_of(json_t *root, const char *const *names, const char **given,
                  struct req_error *err)
{
	*given = NULL;
	for (size_t i = 0; names[i]; i++) {
		if (!get_dotted(root, names[i]))
			continue;
		if (*given)
			return req_fail(err, 400, "invalid_field", names[i], "%s and %s are the same "
			                "field (one is an alias of the other): give only one", *given,
			                names[i]);
		*given = names[i];
	}
	return 0;
}

/* "timeout_s": 2.5 -> 2500 ms, rounded to the nearest millisecond. */
static int parse_timeout(json_t *root, const char *name, const struct req_config *cfg,
                         struct req_error *err)
{
	const struct req_range *r = &cfg->wall_time_ms;
	json_t *v = json_object_get(root, name), *limits = json_object_get(root, "limits");
	double s = json_is_number(v) ? json_number_value(v) : -1;
	uint64_t ms = 0;

	if (s >= 0 && s <= (double)r->max / 1000.0 + 1.0)
		ms = (uint64_t)(s * 1000.0 + 0.5);
	if (ms < r->min || ms > r->max)
		return req_fail(err, 400, "invalid_field", name, "%s must be a number of seconds from "
		                "%g to %g (fractions are rounded to the nearest millisecond)", name,
		                (double)r->min / 1000.0, (double)r->max / 1000.0);
	json_object_del(root, name);
	if (limits && !json_is_object(limits))
		return 0;   /* the limits parse names it */
	if (!limits && json_object_set_new(root, "limits", limits = json_object()))
		return req_fail(err, 500, "internal", "limits", "out of memory");
	if (json_object_set_new(limits, "wall_time_ms", json_integer((json_int_t)ms)))
		return req_fail(err, 500, "internal", "limits", "out of memory");
	return 0;
}

static int parse_job_id(json_t *root, const char *name, struct req_job *job, struct req_error *err)
{
	json_t *v = json_object_get(root, name);
	const char *s = json_is_string(v) ? json_string_value(v) : "";
	size_t n = json_is_string(v) ? json_string_length(v) : 0;
	bool ok = n >= 1 && n <= REQ_MAX_JOB_ID && strlen(s) == n;

	for (size_t i = 0; ok && i < n; i++)
		ok = (s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
		     (s[i] >= '0' && s[i] <= '9') || strchr("._:-", s[i]);
	if (!ok)
		return req_fail(err, 400, "invalid_field", name, "%s must be a string of 1 to %d "
		                "characters from [A-Za-z0-9._:-]", name, REQ_MAX_JOB_ID);
	memcpy(job->job_id, s, n + 1);
	return 0;
}

static int parse_output_encoding(json_t *root, struct req_job *job, struct req_error *err)
{
	json_t *v = json_object_get(root, "output_encoding");
	const char *s = json_is_string(v) ? json_string_value(v) : "";

	if (!v)
		return 0;
	if (strcmp(s, "utf8") == 0)
		job->output_encoding = "utf8";
	else if (strcmp(s, "base64") == 0)
		job->output_encoding = "base64";
	else
		return req_fail(err, 400, "invalid_field", "output_encoding",
		                "output_encoding must be \"utf8\" or \"base64\"");
	return 0;
}

int req_compat_normalize(json_t *root, const struct req_config *cfg, struct req_job *job,
                         struct req_compat *rn, struct req_error *err)
{
	const char *given;

	memset(rn, 0, sizeof *rn);
	for (size_t i = 0; i < sizeof renames / sizeof *renames; i++) {
		const char *const group[] = { renames[i].field, renames[i].alias, NULL };
		json_t *v;

		if (one_of(root, group, &given, err))
			return -1;
		if (!given || given == renames[i].field)
			continue;
		v = json_object_get(root, given);
		if (json_object_set(root, renames[i].field, v))
			return req_fail(err, 500, "internal", given, "out of memory");
		json_object_del(root, given);
		rn->from[rn->n] = renames[i].field;
		rn->to[rn->n++] = given;
	}
	if (one_of(root, same_wall, &given, err) ||
	    (given && given != same_wall[0] && parse_timeout(root, given, cfg, err)) ||
	    one_of(root, same_job_id, &given, err) ||
	    (given && parse_job_id(root, given, job, err)))
		return -1;
	if (given)
		json_object_del(root, given);   /* known now: not an unknown field */
	if (parse_output_encoding(root, job, err))
		return -1;
	json_object_del(root, "output_encoding");
	return 0;
}

static bool ident_char(char c)
{
	return c == '_' || c == '.' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9');
}

/* Replaces each whole-word `from` in s (size bytes) by `to`, cutting at the
 * end of the buffer (the message stays a string). */
static void rename_words(char *s, size_t size, const char *from, const char *to)
{
	char out[512];
	size_t fl = strlen(from), tl = strlen(to), o = 0;

	for (size_t i = 0; s[i] && o + 1 < sizeof out;) {
		bool word = strncmp(s + i, from, fl) == 0 && (i == 0 || !ident_char(s[i - 1])) &&
		            (s[i + fl] == '\0' || s[i + fl] == '.' || !ident_char(s[i + fl]));
		if (word) {
			size_t k = tl < sizeof out - 1 - o ? tl : sizeof out - 1 - o;
			memcpy(out + o, to, k);
			o += k;
			i += fl;
		} else {
			out[o++] = s[i++];
		}
	}
	out[o] = '\0';
	snprintf(s, size, "%s", out);
}

void req_compat_error(const struct req_compat *rn, struct req_error *err)
{
	for (size_t i = 0; i < rn->n; i++) {
		size_t fl = strlen(rn->from[i]);
		const char *f = err->field;

		if (strncmp(f, rn->from[i], fl) != 0 || (f[fl] && f[fl] != '.' && f[fl] != '['))
			continue;
		rename_words(err->field, sizeof err->field, rn->from[i], rn->to[i]);
		rename_words(err->message, sizeof err->message, rn->from[i], rn->to[i]);
		return;
	}
}

/* Sets NAME=value in job->envp, replacing a value the request gave. */
static int env_put(struct req_job *job, const char *name, const char *value)
{
	size_t nl = strlen(name), len = nl + strlen(value) + 2, n = 0;
	char *kv = malloc(len), **v;

	if (!kv || snprintf(kv, len, "%s=%s", name, value) != (int)len - 1) {
		free(kv);
		return -1;
	}
	for (; job->envp && job->envp[n]; n++) {
		if (strncmp(job->envp[n], kv, nl + 1) == 0) {
			free(job->envp[n]);
			job->envp[n] = kv;
			return 0;
		}
	}
	if (!(v = realloc(job->envp, (n + 2) * sizeof *v))) {
		free(kv);
		return -1;
	}
	job->envp = v;
	v[n] = kv;
	v[n + 1] = NULL;
	return 0;
}

int req_job_context_env(struct req_job *job, const char *request_id)
{
	char wall[24];

	if (!job->handler_mode)
		return 0;
	/* The service's values, never the request's: a handler must be able to
	 * trust that context.request_id names this request in our logs. */
	snprintf(wall, sizeof wall, "%llu", (unsigned long long)job->limits.wall_time_ms);
	if (env_put(job, "SANDBOX_WALL_MS", wall))
		return -1;
	return request_id && *request_id ? env_put(job, "SANDBOX_REQUEST_ID", request_id) : 0;
}

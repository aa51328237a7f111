/*
 * resp.c - the JSON answers: the run result and the error object.
 * Program output is data from untrusted code: every string taken from it is
 * made valid UTF-8 first (resp_utf8.c), so the answer is always valid JSON.
 */
#include <stdlib.h>
#include <string.h>

#include "api/api_private.h"
#include "api/resp.h"

static json_t *text_json(const char *s, size_t len)
{
	size_t n;
	char *clean = resp_utf8_clean(s ? s : "", s ? len : 0, &n);
	json_t *j = clean ? json_stringn(clean, n) : NULL;
	free(clean);
	return j;
}

static json_t *int_or_null(bool present, long long v)
{
	return present ? json_integer(v) : json_null();
}

/* exit_code when the program exited by itself; signal when one ended it. */
static void put_exit(json_t *o, const struct jail_step_result *r)
{
	bool ran = r->status != JAIL_NOT_RUN;
	json_object_set_new(o, "exit_code", int_or_null(ran && !r->signal, r->exit_code));
	json_object_set_new(o, "signal", int_or_null(ran && r->signal, r->signal));
}

static void put_output(json_t *o, const struct jail_step_result *r, const char *err_extra)
{
	json_t *err = text_json(r->err.data, r->err.len);
	json_object_set_new(o, "stdout", text_json(r->out.data, r->out.len));
	if (err && err_extra) {
		const char *e = json_string_value(err);
		size_t el = json_string_length(err);   /* output may hold NUL: keep it all */
		size_t xl = strlen(err_extra);
		bool nl = el && e[el - 1] != '\n';
		char *s = malloc(el + xl + 2);
		if (s) {
			memcpy(s, e, el);
			if (nl)
				s[el] = '\n';
			memcpy(s + el + nl, err_extra, xl + 1);
			json_decref(err);
			err = json_stringn(s, el + nl + xl);
			free(s);
		}
	}
	json_object_set_new(o, "stderr", err);
	json_object_set_new(o, "stdout_truncated", json_boolean(r->out.truncated));
	json_object_set_new(o, "stderr_truncated", json_boolean(r->err.truncated));
}

static json_t *files_json(const struct jail_result *res)
{
	json_t *a = json_array();
	for (size_t i = 0; a && i < res->nfiles; i++) {
		const struct jail_out_file *f = &res->files[i];
		char *b64 = b64_encode(f->data, f->len, NULL);
		json_array_append_new(a, json_pack("{s:o, s:I, s:s, s:s}",
		                                   "path", text_json(f->path, strlen(f->path)),
		                                   "size", (json_int_t)f->len, "encoding", "base64",
		                                   "content", b64 ? b64 : ""));
		free(b64);
	}
	return a;
}

static json_t *compile_json(const struct jail_step_result *c)
{
	json_t *o = json_object();
	json_object_set_new(o, "status", json_string(jail_status_name(c->status)));
	put_exit(o, c);
	put_output(o, c, NULL);
	json_object_set_new(o, "execution_time_ms", json_integer((json_int_t)c->wall_ms));
	return o;
}

struct handler_outcome {
	json_t *result;          /* the handler's return value, or null */
	const char *error;       /* why there is no result, or NULL */
	char *error_owned;       /* the handler's own message, if error points to it */
	char *stderr_extra;      /* appended to stderr: the traceback, else error */
};

/* The shim writes {"ok": true, "result": X} or {"ok": false, "error": "...",
 * "traceback": "..."} to /tmp/.sandbox/result.json and exits 0 either way
 * (rootfs/common/overlay/opt/sandbox/shims). */
static void handler_decode(const struct jail_result *res, struct handler_outcome *h)
{
	json_t *doc, *ok, *msg;

	h->result = json_null();
	if (!res->has_result)
		h->error = "the handler produced no result";
	else if (res->result.truncated)
		h->error = "the handler result exceeds the size limit";
	if (h->error) {
		h->stderr_extra = strdup(h->error);
		return;
	}
	doc = json_loadb(res->result.data ? res->result.data : "", res->result.len,
	                 JSON_REJECT_DUPLICATES, NULL);
	ok = json_object_get(doc, "ok");
	msg = json_object_get(doc, "error");
	if (!json_is_boolean(ok)) {
		h->error = "the handler shim wrote a malformed result";
	} else if (json_is_true(ok)) {
		json_t *r = json_object_get(doc, "result");
		h->result = r ? json_incref(r) : json_null();
	} else {
		/* Strings from jansson are valid UTF-8 without NUL: safe as they are. */
		json_t *tb = json_object_get(doc, "traceback");
		h->error_owned = json_is_string(msg) ? strdup(json_string_value(msg)) : NULL;
		h->error = h->error_owned ? h->error_owned : "the handler failed";
		if (json_is_string(tb) && json_string_length(tb) &&
		    strlen(json_string_value(tb)) == json_string_length(tb))
			h->stderr_extra = strdup(json_string_value(tb));
	}
	json_decref(doc);
	if (h->error && !h->stderr_extra)
		h->stderr_extra = strdup(h->error);
}

static const struct jail_step_result *run_step(const struct jail_result *res, const struct resp_opts *o)
{
	static const struct jail_step_result not_run = { .status = JAIL_NOT_RUN };
	size_t i = o->has_compile ? 1 : 0;
	return i < res->nsteps ? &res->steps[i] : &not_run;
}

json_t *resp_result(const struct jail_result *res, const struct resp_opts *o)
{
	const struct jail_step_result *run = run_step(res, o);
	const char *status = jail_status_name(run->status);
	struct handler_outcome h = { .result = NULL, .error = NULL };
	json_t *obj = json_object();

	if (!obj)
		return NULL;
	if (o->has_compile && (res->nsteps < 1 || res->steps[0].status != JAIL_SUCCESS))
		status = "compile_error";
	else if (o->handler_mode && (run->status == JAIL_SUCCESS || res->has_result))
		handler_decode(res, &h);   /* a killed run without a result needs no excuse */
	/* A handler that raised (or returned nothing usable) is a program
	 * error even when the shim exited 0. */
	if (h.error && run->status == JAIL_SUCCESS)
		status = "error";
	if (o->request_id)
		json_object_set_new(obj, "request_id", text_json(o->request_id, strlen(o->request_id)));
	json_object_set_new(obj, "status", json_string(status));
	put_exit(obj, run);
	put_output(obj, run, h.stderr_extra);
	json_object_set_new(obj, "execution_time_ms", json_integer((json_int_t)run->wall_ms));
	json_object_set_new(obj, "cpu_time_ms", json_integer((json_int_t)run->cpu_ms));
	json_object_set_new(obj, "memory_peak_kb", json_integer((json_int_t)run->memory_peak_kb));
	json_object_set_new(obj, "files", files_json(res));
	json_object_set_new(obj, "files_truncated", json_boolean(res->files_truncated));
	if (o->handler_mode) {
		json_object_set_new(obj, "result", h.result ? h.result : json_null());
		if (h.error)
			json_object_set_new(obj, "handler_error", json_string(h.error));
	}
	if (o->has_compile && res->nsteps >= 1)
		json_object_set_new(obj, "compile", compile_json(&res->steps[0]));
	free(h.error_owned);
	free(h.stderr_extra);
	return obj;
}

json_t *resp_error(const char *code, const char *message, const char *field)
{
	/* Cleaned like program output: a message may quote request data. */
	json_t *e = json_pack("{s:o, s:o}", "code", text_json(code ? code : "internal", code ? strlen(code) : 8),
	                      "message", text_json(message ? message : "", message ? strlen(message) : 0));
	if (e && field && *field)
		json_object_set_new(e, "field", text_json(field, strlen(field)));
	return e ? json_pack("{s:o}", "error", e) : NULL;
}

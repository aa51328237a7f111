/*
 * resp.c - the JSON answers: the run result and the error object.
 * Program output is data from untrusted code: every string taken from it is
 * made valid UTF-8 first (utf8_clean, src/common/utf8.c), so the answer is always valid JSON.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/api_load.h"
#include "api/resp.h"
#include "api/resp_private.h"
#include "common/b64.h"
#include "common/utf8.h"

#define RESP_STR_(x) #x
#define RESP_STR(x) RESP_STR_(x)
#define RESP_RESULT_MAX_VALUES 100000
#define RESP_RESULT_PARSE_MIB 16
#define RESP_RESULT_PARSE_BYTES ((size_t)RESP_RESULT_PARSE_MIB << 20)

static json_t *text_json(const char *s, size_t len)
{
	size_t n;
	char *clean = utf8_clean(s ? s : "", s ? len : 0, &n);
	json_t *j = clean ? json_stringn(clean, n) : NULL;
	free(clean);
	return j;
}

/* Base64 of s as a JSON string. */
static json_t *b64_json(const char *s, size_t len)
{
	char *enc = b64_encode((const unsigned char *)(s ? s : ""), s ? len : 0, NULL);
	json_t *j = enc ? json_string(enc) : NULL;

	free(enc);
	return j;
}

/* Output inline in the tree: len bytes of s, then suffix (valid UTF-8)
 * after a '\n' unless s ends with one, as text or as base64 of the bytes. */
static json_t *inline_json(const char *s, size_t len, bool base64, const char *suffix)
{
	size_t xl = suffix ? strlen(suffix) : 0, n = len;
	bool nl = suffix && len && s[len - 1] != '\n';
	char *joined;
	json_t *j;

	if (!suffix)
		return base64 ? b64_json(s, len) : text_json(s, len);
	if (!(joined = malloc(len + xl + 2)))
		return NULL;
	if (len)
		memcpy(joined, s, len);
	if (nl)
		joined[n++] = '\n';
	memcpy(joined + n, suffix, xl + 1);
	j = base64 ? b64_json(joined, n + xl) : text_json(joined, n + xl);
	free(joined);
	return j;
}

/* Program output and output files: inline (a cleaned copy in the tree), or
 * when the answer is streamed a placeholder that resp_result_write() fills
 * from the jail's own buffer, so that the answer is never held in memory
 * (issue 8, finding 3). */
static json_t *big_json(struct resp_bigs *b, const char *s, size_t len, bool base64,
                        const char *suffix)
{
	struct resp_big *nb;
	json_t *slot;

	if (!b)
		return inline_json(s, len, base64, suffix);
	if (b->n == b->alloc) {
		size_t na = b->alloc ? 2 * b->alloc : 8;
		if (!(nb = realloc(b->big, na * sizeof *nb)))
			return NULL;
		b->big = nb;
		b->alloc = na;
	}
	/* A fresh empty string: a slot the writer finds by its address. */
	if (!(slot = json_string("")))
		return NULL;
	nb = &b->big[b->n++];
	*nb = (struct resp_big){ .slot = slot, .data = s ? s : "", .len = s ? len : 0,
	                         .base64 = base64, .suffix = suffix };
	return slot;
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

/* execve's errors (execve(2)) by name; the API speaks in names. */
static const char *exec_errno_name(int err)
{
	static const struct { int err; const char *name; } names[] = {
		{ ENOENT, "ENOENT" }, { EACCES, "EACCES" }, { ENOEXEC, "ENOEXEC" },
		{ EPERM, "EPERM" }, { ENOTDIR, "ENOTDIR" }, { EISDIR, "EISDIR" },
		{ ELOOP, "ELOOP" }, { ENAMETOOLONG, "ENAMETOOLONG" }, { E2BIG, "E2BIG" },
		{ ENOMEM, "ENOMEM" }, { ETXTBSY, "ETXTBSY" }, { ELIBBAD, "ELIBBAD" },
		{ EIO, "EIO" }, { EMFILE, "EMFILE" }, { ENFILE, "ENFILE" }, { EAGAIN, "EAGAIN" },
		{ EINVAL, "EINVAL" }, { EFAULT, "EFAULT" },
	};
	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
		if (names[i].err == err)
			return names[i].name;
	return "EUNKNOWN";
}

/* A program that could not be started said nothing, and exit 127 alone
 * does not say why (issue 12: a typo in the entrypoint was silent). Say
 * it as a shell would on stderr ("pyhton: command not found") and as
 * "exec_error" {"errno", "message"}. The name is request data, maybe cut
 * mid-character by the jail: cleaned like output. */
static char *exec_message(json_t *o, const struct jail_step_result *r)
{
	char msg[sizeof r->exec_name + 96];
	const char *name = r->exec_name[0] ? r->exec_name : "program";
	const char *why = strerror(r->exec_errno);   /* EACCES: "Permission denied" */
	char *clean;
	size_t n;
	int len;

	if (r->exec_errno == ENOENT && !strchr(name, '/'))
		why = "command not found";               /* looked up in PATH */
	else if (r->exec_errno == ENOEXEC)
		why = "cannot execute binary file: Exec format error";
	len = snprintf(msg, sizeof msg, "%s: %s\n", name, why);
	if (len < 0 || (size_t)len >= sizeof msg || !(clean = utf8_clean(msg, (size_t)len, &n)))
		return NULL;
	json_object_set_new(o, "exec_error", json_pack("{s:s, s:s%}", "errno",
	                    exec_errno_name(r->exec_errno), "message", clean, n - 1));
	return clean;
}

/* Streamed: what the service adds after the streamed stderr, with the
 * '\n' the whole answer puts between them (as below); in base64 too with
 * output_encoding base64, like the whole answer's stderr. */
static void put_streamed(json_t *o, const struct jail_step_result *r, const char *err_extra,
                         bool base64)
{
	bool nl = err_extra && r->err.len && r->err.data[r->err.len - 1] != '\n';
	json_t *extra = json_pack("s+", nl ? "\n" : "", err_extra ? err_extra : "");

	json_object_set_new(o, "stdout", json_string(""));
	if (extra && base64)
		json_object_set_new(o, "stderr", inline_json(json_string_value(extra),
		                                             json_string_length(extra), true, NULL));
	else
		json_object_set_new(o, "stderr", json_incref(extra));
	json_decref(extra);
	json_object_set_new(o, "stdout_truncated", json_boolean(r->out.truncated));
	json_object_set_new(o, "stderr_truncated", json_boolean(r->err.truncated));
}

static void put_output(json_t *o, const struct jail_step_result *r, const char *err_extra,
                       bool base64, struct resp_bigs *b, bool streamed)
{
	char *exec_msg = r->exec_failed && !err_extra ? exec_message(o, r) : NULL;

	if (streamed) {
		put_streamed(o, r, exec_msg ? exec_msg : err_extra, base64);
		free(exec_msg);
		return;
	}

	if (exec_msg) {
		err_extra = exec_msg;
		b = NULL;      /* a few bytes: inline, the streamed answer is the same */
	}
	json_object_set_new(o, "stdout", big_json(b, r->out.data, r->out.len, base64, NULL));
	json_object_set_new(o, "stderr", big_json(b, r->err.data, r->err.len, base64, err_extra));
	json_object_set_new(o, "stdout_truncated", json_boolean(r->out.truncated));
	json_object_set_new(o, "stderr_truncated", json_boolean(r->err.truncated));
	free(exec_msg);
}

static json_t *content_json(const struct jail_out_file *f, struct resp_bigs *b)
{
	char *b64;
	json_t *j;

	if (b)
		return big_json(b, (const char *)f->data, f->len, true, NULL);
	b64 = b64_encode(f->data, f->len, NULL);
	j = json_string(b64 ? b64 : "");
	free(b64);
	return j;
}

static json_t *files_json(const struct jail_result *res, struct resp_bigs *b)
{
	json_t *a = json_array();
	for (size_t i = 0; a && i < res->nfiles; i++) {
		const struct jail_out_file *f = &res->files[i];
		json_array_append_new(a, json_pack("{s:o, s:I, s:s, s:o}",
		                                   "path", text_json(f->path, strlen(f->path)),
		                                   "size", (json_int_t)f->len, "encoding", "base64",
		                                   "content", content_json(f, b)));
	}
	return a;
}

static json_t *compile_json(const struct jail_step_result *c, bool base64, struct resp_bigs *b,
                            bool streamed)
{
	json_t *o = json_object();
	json_object_set_new(o, "status", json_string(jail_status_name(c->status)));
	put_exit(o, c);
	put_output(o, c, NULL, base64, b, streamed);
	json_object_set_new(o, "execution_time_ms", json_integer((json_int_t)c->wall_ms));
	return o;
}

struct handler_outcome {
	json_t *result;          /* the handler's return value, or null */
	const char *error;       /* why there is no result, or NULL */
	char *error_owned;       /* the handler's own message, if error points to it */
	char *stderr_extra;      /* appended to stderr: the traceback, else error */
};

/* The result file is the program's output: bounded before jansson builds
 * a tree of it, like a request body (req_scan.c, api_mem.c). Its 1 MiB of
 * "{}," would otherwise be a 90 MB tree. The depth stays jansson's own. */
static json_t *result_load(const char *s, size_t len, const char **why)
{
	struct api_mem_src m = { s, len };
	struct api_load l;
	json_t *doc;

	api_load_init(&l, api_mem_read, &m, len, SIZE_MAX, RESP_RESULT_MAX_VALUES,
	              RESP_RESULT_PARSE_BYTES);
	doc = api_load(&l, JSON_REJECT_DUPLICATES, NULL);
	if (l.fail == API_LOAD_SCAN)
		*why = "the handler result holds more than " RESP_STR(RESP_RESULT_MAX_VALUES)
		       " JSON values";
	else if (l.fail == API_LOAD_BUDGET)
		*why = "the handler result needs more than " RESP_STR(RESP_RESULT_PARSE_MIB)
		       " MiB to decode";
	return doc;
}

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
	/* A result too complex to decode leaves h->error set, like a missing one. */
	doc = result_load(res->result.data ? res->result.data : "", res->result.len, &h->error);
	ok = json_object_get(doc, "ok");
	msg = json_object_get(doc, "error");
	if (h->error) {
		h->result = json_null();
	} else if (!json_is_boolean(ok)) {
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

static bool compile_failed(const struct jail_result *res, const struct resp_opts *o)
{
	return o->has_compile && (res->nsteps < 1 || res->steps[0].status != JAIL_SUCCESS);
}

const char *resp_status(const struct jail_result *res, const struct resp_opts *o,
                        bool handler_failed)
{
	const struct jail_step_result *run = run_step(res, o);

	if (compile_failed(res, o))
		return "compile_error";
	if (handler_failed && run->status == JAIL_SUCCESS)
		return "error";
	return jail_status_name(run->status);
}

/* The result object; with b, big strings are placeholders (see big_json)
 * and *keep receives the text they still point to, freed by the caller. */
static json_t *result_tree(const struct jail_result *res, const struct resp_opts *o,
                           struct resp_bigs *b, char **keep)
{
	const struct jail_step_result *run = run_step(res, o);
	struct handler_outcome h = { .result = NULL, .error = NULL };
	const char *status;
	bool base64 = o->output_encoding && strcmp(o->output_encoding, "base64") == 0;
	json_t *obj = json_object();

	if (!obj)
		return NULL;
	if (!compile_failed(res, o) && o->handler_mode &&
	    (run->status == JAIL_SUCCESS || res->has_result))
		handler_decode(res, &h);   /* a killed run without a result needs no excuse */
	status = resp_status(res, o, h.error != NULL);
	if (o->status_out)
		*o->status_out = status;
	if (o->request_id)
		resp_set_request_id(obj, o->request_id);
	if (o->job_id && *o->job_id)
		json_object_set_new(obj, "job_id", text_json(o->job_id, strlen(o->job_id)));
	/* Said in the answer, so base64 can never be read as text by mistake. */
	if (o->output_encoding)
		json_object_set_new(obj, "output_encoding", json_string(o->output_encoding));
	json_object_set_new(obj, "status", json_string(status));
	put_exit(obj, run);
	put_output(obj, run, h.stderr_extra, base64, b, o->output_streamed);
	json_object_set_new(obj, "execution_time_ms", json_integer((json_int_t)run->wall_ms));
	json_object_set_new(obj, "cpu_time_ms", json_integer((json_int_t)run->cpu_ms));
	json_object_set_new(obj, "memory_peak_kb", json_integer((json_int_t)run->memory_peak_kb));
	if (o->report_warm)
		json_object_set_new(obj, "warm", json_boolean(res->warm));
	json_object_set_new(obj, "files", files_json(res, b));
	json_object_set_new(obj, "files_truncated", json_boolean(res->files_truncated));
	if (o->handler_mode) {
		json_object_set_new(obj, "result", h.result ? h.result : json_null());
		if (h.error)
			json_object_set_new(obj, "handler_error", json_string(h.error));
	}
	if (o->has_compile && res->nsteps >= 1)
		json_object_set_new(obj, "compile", compile_json(&res->steps[0], base64, b,
		                                                 o->output_streamed));
	if (o->session)
		json_object_set(obj, "session", o->session);
	free(h.error_owned);
	*keep = h.stderr_extra;
	return obj;
}

json_t *resp_result(const struct jail_result *res, const struct resp_opts *o)
{
	char *keep = NULL;
	json_t *obj = result_tree(res, o, NULL, &keep);

	free(keep);
	return obj;
}

int resp_result_write(const struct jail_result *res, const struct resp_opts *o,
                      json_dump_callback_t write, void *ctx)
{
	struct resp_bigs b = { .n = 0 };
	char *keep = NULL;
	json_t *obj = result_tree(res, o, &b, &keep);
	int rc = obj ? resp_tree_write(obj, &b, write, ctx) : -1;

	json_decref(obj);
	free(keep);
	free(b.big);
	return rc;
}

void resp_set_request_id(json_t *answer, const char *id)
{
	json_object_set_new(answer, "request_id", text_json(id, strlen(id)));
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

json_t *resp_sandbox_failure(const struct jail_error *e, bool detail)
{
	char msg[300] = "the sandbox failed before the program could run to completion";
	json_t *body, *err;

	/* Truncation is fine: the message stays text (text_json cleans it). */
	if (detail)
		snprintf(msg, sizeof msg, "sandbox failure at step '%s': %s%s%s", e->step,
		         strerror(e->err), e->detail[0] ? ": " : "", e->detail);
	body = resp_error("sandbox_failure", msg, NULL);
	err = json_object_get(body, "error");
	if (err) {
		json_object_set_new(err, "step", text_json(e->step, strlen(e->step)));
		json_object_set_new(err, "errno", json_integer(e->err));
	}
	return body;
}

/* check_resp.c - the result object built from a jail_result. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api_test.h"
#include "common/b64.h"

static struct jail_result res;

static void set_buf(struct jail_buf *b, const char *s, size_t len)
{
	b->data = malloc(len + 1);
	memcpy(b->data, s, len);
	b->data[len] = '\0';
	b->len = len;
}

static void clear(void)
{
	for (size_t i = 0; i < JAIL_MAX_STEPS; i++) {
		free(res.steps[i].out.data);
		free(res.steps[i].err.data);
	}
	free(res.result.data);
	memset(&res, 0, sizeof res);
}

struct sink { char *buf; size_t len, cap; };

static int sink_put(const char *p, size_t n, void *data)
{
	struct sink *k = data;
	if (k->len + n + 1 > k->cap) {
		k->cap = 2 * (k->len + n + 1);
		k->buf = realloc(k->buf, k->cap);
		ck_assert_ptr_nonnull(k->buf);
	}
	memcpy(k->buf + k->len, p, n);
	k->len += n;
	k->buf[k->len] = '\0';
	return 0;
}

/* resp_result(), and the answer streamed by resp_result_write() checked to
 * be byte for byte its json_dumps(JSON_COMPACT): every shape below is also
 * a test of the streamed answer the responder sends. */
static json_t *streamed_result(const struct jail_result *r, const struct resp_opts *o)
{
	json_t *j = resp_result(r, o);
	struct sink k = { NULL, 0, 0 };
	char *want = json_dumps(j, JSON_COMPACT);

	ck_assert_ptr_nonnull(want);
	ck_assert_int_eq(resp_result_write(r, o, sink_put, &k), 0);
	ck_assert_uint_eq(k.len, strlen(want));
	ck_assert_msg(memcmp(k.buf, want, k.len) == 0, "streamed %s\nwant     %s", k.buf, want);
	free(want);
	free(k.buf);
	return j;
}

static const char *str(json_t *o, const char *k)
{
	json_t *v = json_object_get(o, k);
	ck_assert_msg(json_is_string(v), "%s is not a string", k);
	return json_string_value(v);
}

START_TEST(success_shape)
{
	res.nsteps = 1;
	res.steps[0] = (struct jail_step_result){ .status = JAIL_SUCCESS, .exit_code = 0,
	                                          .wall_ms = 12, .cpu_ms = 7, .memory_peak_kb = 900 };
	set_buf(&res.steps[0].out, "hi\n", 3);
	set_buf(&res.steps[0].err, "", 0);
	res.steps[0].err.truncated = true;
	struct jail_out_file f = { .path = "out/a.bin", .data = (unsigned char *)"\x00\xff", .len = 2 };
	res.files = &f;
	res.nfiles = 1;
	struct resp_opts o = { .request_id = "req-1" };
	json_t *j = streamed_result(&res, &o);
	ck_assert_str_eq(str(j, "request_id"), "req-1");
	ck_assert_str_eq(str(j, "status"), "success");
	ck_assert_int_eq(json_integer_value(json_object_get(j, "exit_code")), 0);
	ck_assert(json_is_null(json_object_get(j, "signal")));
	ck_assert_str_eq(str(j, "stdout"), "hi\n");
	ck_assert(json_is_false(json_object_get(j, "stdout_truncated")));
	ck_assert(json_is_true(json_object_get(j, "stderr_truncated")));
	ck_assert_int_eq(json_integer_value(json_object_get(j, "execution_time_ms")), 12);
	ck_assert_int_eq(json_integer_value(json_object_get(j, "cpu_time_ms")), 7);
	ck_assert_int_eq(json_integer_value(json_object_get(j, "memory_peak_kb")), 900);
	json_t *f0 = json_array_get(json_object_get(j, "files"), 0);
	ck_assert_str_eq(str(f0, "path"), "out/a.bin");
	ck_assert_int_eq(json_integer_value(json_object_get(f0, "size")), 2);
	ck_assert_str_eq(str(f0, "encoding"), "base64");
	ck_assert_str_eq(str(f0, "content"), "AP8=");
	ck_assert_ptr_null(json_object_get(j, "result"));
	ck_assert_ptr_null(json_object_get(j, "compile"));
	json_decref(j);
	res.files = NULL;
	clear();
}
END_TEST

START_TEST(killed_and_timeout)
{
	const enum jail_status st[] = { JAIL_KILLED, JAIL_TIMEOUT, JAIL_MEMORY_LIMIT };
	const char *names[] = { "killed", "timeout", "memory_limit" };
	for (size_t i = 0; i < 3; i++) {
		res.nsteps = 1;
		res.steps[0] = (struct jail_step_result){ .status = st[i], .signal = 9, .exit_code = 0 };
		struct resp_opts o = { 0 };
		json_t *j = streamed_result(&res, &o);
		ck_assert_str_eq(str(j, "status"), names[i]);
		ck_assert(json_is_null(json_object_get(j, "exit_code")));
		ck_assert_int_eq(json_integer_value(json_object_get(j, "signal")), 9);
		ck_assert_ptr_null(json_object_get(j, "request_id"));
		ck_assert_str_eq(str(j, "stdout"), "");   /* NULL buffer: empty string */
		json_decref(j);
	}
	res.steps[0] = (struct jail_step_result){ .status = JAIL_ERROR, .exit_code = 3 };
	struct resp_opts o = { 0 };
	json_t *j = streamed_result(&res, &o);
	ck_assert_str_eq(str(j, "status"), "error");
	ck_assert_int_eq(json_integer_value(json_object_get(j, "exit_code")), 3);
	json_decref(j);
}
END_TEST

START_TEST(invalid_utf8_output)
{
	res.nsteps = 1;
	set_buf(&res.steps[0].out, "a\xff" "b\xed\xa0\x80", 6);
	set_buf(&res.steps[0].err, "\0x", 2);
	struct resp_opts o = { 0 };
	json_t *j = streamed_result(&res, &o);
	ck_assert_str_eq(str(j, "stdout"), "a\xef\xbf\xbd" "b\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd");
	ck_assert_uint_eq(json_string_length(json_object_get(j, "stderr")), 2);
	char *s = json_dumps(j, 0);
	ck_assert_ptr_nonnull(strstr(s, "\"\\u0000x\""));
	free(s);
	json_decref(j);
	clear();
}
END_TEST

static json_t *handler_result(const char *file, enum jail_status st)
{
	res.nsteps = 1;
	res.steps[0].status = st;
	res.steps[0].exit_code = st == JAIL_SUCCESS ? 0 : 1;
	set_buf(&res.steps[0].err, "trace", 5);
	if (file) {
		set_buf(&res.result, file, strlen(file));
		res.has_result = true;
	}
	struct resp_opts o = { .handler_mode = true };
	return streamed_result(&res, &o);
}

START_TEST(handler_ok)
{
	json_t *j = handler_result("{\"ok\": true, \"result\": {\"n\": [1, 2]}}", JAIL_SUCCESS);
	ck_assert_str_eq(str(j, "status"), "success");
	json_t *r = json_object_get(j, "result");
	ck_assert_int_eq(json_integer_value(json_array_get(json_object_get(r, "n"), 1)), 2);
	ck_assert_ptr_null(json_object_get(j, "handler_error"));
	ck_assert_str_eq(str(j, "stderr"), "trace");
	json_decref(j);
	clear();
}
END_TEST

START_TEST(handler_raised)
{
	json_t *j = handler_result("{\"ok\": false, \"error\": \"ValueError: boom\"}", JAIL_SUCCESS);
	ck_assert_str_eq(str(j, "status"), "error");
	ck_assert(json_is_null(json_object_get(j, "result")));
	ck_assert_str_eq(str(j, "handler_error"), "ValueError: boom");
	ck_assert_str_eq(str(j, "stderr"), "trace\nValueError: boom");
	json_decref(j);
	clear();
}
END_TEST

START_TEST(handler_traceback_to_stderr)
{
	json_t *j = handler_result("{\"ok\": false, \"error\": \"KeyError: 'x'\","
	                           " \"traceback\": \"Traceback:\\n  main.py:1\\nKeyError: 'x'\\n\"}",
	                           JAIL_SUCCESS);
	ck_assert_str_eq(str(j, "status"), "error");
	ck_assert_str_eq(str(j, "handler_error"), "KeyError: 'x'");
	ck_assert_str_eq(str(j, "stderr"), "trace\nTraceback:\n  main.py:1\nKeyError: 'x'\n");
	json_decref(j);
	clear();
}
END_TEST

START_TEST(handler_missing_or_malformed)
{
	json_t *j = handler_result(NULL, JAIL_SUCCESS);
	ck_assert_str_eq(str(j, "status"), "error");
	ck_assert_str_eq(str(j, "handler_error"), "the handler produced no result");
	json_decref(j);
	clear();
	j = handler_result("{\"result\": 1}", JAIL_SUCCESS);
	ck_assert_str_eq(str(j, "handler_error"), "the handler shim wrote a malformed result");
	json_decref(j);
	clear();
	/* A timeout stays a timeout, with nothing added. */
	j = handler_result(NULL, JAIL_TIMEOUT);
	ck_assert_str_eq(str(j, "status"), "timeout");
	ck_assert_ptr_null(json_object_get(j, "handler_error"));
	ck_assert_str_eq(str(j, "stderr"), "trace");
	ck_assert(json_is_null(json_object_get(j, "result")));
	json_decref(j);
	clear();
	j = handler_result("{\"ok\": true, \"result\": 1}", JAIL_SUCCESS);
	res.result.truncated = true;
	json_decref(j);
	j = streamed_result(&res, &(struct resp_opts){ .handler_mode = true });
	ck_assert_str_eq(str(j, "status"), "error");
	ck_assert_str_eq(str(j, "handler_error"), "the handler result exceeds the size limit");
	json_decref(j);
	clear();
}
END_TEST

START_TEST(compile_error)
{
	res.nsteps = 2;
	res.steps[0] = (struct jail_step_result){ .status = JAIL_ERROR, .exit_code = 1, .wall_ms = 50 };
	set_buf(&res.steps[0].err, "main.c:1: error", 15);
	res.steps[1] = (struct jail_step_result){ .status = JAIL_NOT_RUN };
	struct resp_opts o = { .has_compile = true };
	json_t *j = streamed_result(&res, &o);
	ck_assert_str_eq(str(j, "status"), "compile_error");
	ck_assert(json_is_null(json_object_get(j, "exit_code")));
	json_t *c = json_object_get(j, "compile");
	ck_assert_str_eq(str(c, "status"), "error");
	ck_assert_int_eq(json_integer_value(json_object_get(c, "exit_code")), 1);
	ck_assert_str_eq(str(c, "stderr"), "main.c:1: error");
	ck_assert_int_eq(json_integer_value(json_object_get(c, "execution_time_ms")), 50);
	json_decref(j);
	clear();
}
END_TEST

START_TEST(compile_then_run)
{
	res.nsteps = 2;
	res.steps[0] = (struct jail_step_result){ .status = JAIL_SUCCESS };
	res.steps[1] = (struct jail_step_result){ .status = JAIL_ERROR, .exit_code = 2 };
	set_buf(&res.steps[1].out, "42", 2);
	struct resp_opts o = { .has_compile = true };
	json_t *j = streamed_result(&res, &o);
	ck_assert_str_eq(str(j, "status"), "error");
	ck_assert_int_eq(json_integer_value(json_object_get(j, "exit_code")), 2);
	ck_assert_str_eq(str(j, "stdout"), "42");
	ck_assert_str_eq(str(json_object_get(j, "compile"), "status"), "success");
	json_decref(j);
	clear();
}
END_TEST

static json_t *exec_failed_result(int err, const char *name)
{
	res.nsteps = 1;
	res.steps[0] = (struct jail_step_result){ .status = JAIL_ERROR, .exit_code = 127,
	                                          .exec_failed = true, .exec_errno = err };
	snprintf(res.steps[0].exec_name, sizeof res.steps[0].exec_name, "%s", name);
	struct resp_opts o = { 0 };
	return streamed_result(&res, &o);
}

/* Issue 12: a typo in the entrypoint answered 127 with an empty stderr. */
START_TEST(exec_failure_says_why)
{
	static const struct { int err; const char *name, *errno_name, *stderr_text; } cases[] = {
		{ ENOENT, "pyhton", "ENOENT", "pyhton: command not found\n" },
		{ ENOENT, "./nope", "ENOENT", "./nope: No such file or directory\n" },
		{ EACCES, "./run.sh", "EACCES", "./run.sh: Permission denied\n" },
		{ ENOEXEC, "./blob", "ENOEXEC", "./blob: cannot execute binary file: Exec format error\n" },
		{ ENOTDIR, "a/b", "ENOTDIR", "a/b: Not a directory\n" },
		{ 4095, "x", "EUNKNOWN", NULL },
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		json_t *j = exec_failed_result(cases[i].err, cases[i].name);
		json_t *x = json_object_get(j, "exec_error");
		ck_assert_int_eq(json_integer_value(json_object_get(j, "exit_code")), 127);
		ck_assert_str_eq(str(x, "errno"), cases[i].errno_name);
		if (cases[i].stderr_text) {
			ck_assert_str_eq(str(j, "stderr"), cases[i].stderr_text);
			/* the message is stderr's line without its newline */
			ck_assert_uint_eq(strlen(str(x, "message")) + 1, strlen(cases[i].stderr_text));
			ck_assert(strncmp(str(x, "message"), cases[i].stderr_text,
			                  strlen(str(x, "message"))) == 0);
		}
		json_decref(j);
		clear();
	}
}
END_TEST

/* The name is request data the jail cut to fit, maybe inside a UTF-8
 * sequence: still valid JSON, the cut byte replaced (U+FFFD). */
START_TEST(exec_failure_name_cut_mid_character)
{
	char name[sizeof res.steps[0].exec_name];
	memset(name, 'a', sizeof name - 2);
	name[sizeof name - 2] = '\xc3';   /* first byte of a 2-byte sequence */
	name[sizeof name - 1] = '\0';
	json_t *j = exec_failed_result(ENOENT, name);
	const char *e = str(j, "stderr");
	ck_assert(strstr(e, "\xef\xbf\xbd: command not found\n") != NULL);
	ck_assert_ptr_nonnull(json_object_get(json_object_get(j, "exec_error"), "message"));
	json_decref(j);
	clear();
}
END_TEST

/* Exit 127 from a program that ran is its own: no exec_error. */
START_TEST(exit_127_of_a_program_is_not_exec_error)
{
	res.nsteps = 1;
	res.steps[0] = (struct jail_step_result){ .status = JAIL_ERROR, .exit_code = 127 };
	set_buf(&res.steps[0].err, "mine\n", 5);
	struct resp_opts o = { 0 };
	json_t *j = streamed_result(&res, &o);
	ck_assert_ptr_null(json_object_get(j, "exec_error"));
	ck_assert_str_eq(str(j, "stderr"), "mine\n");
	json_decref(j);
	clear();
}
END_TEST

/* The 500 of POST /run and sandbox-run's exit-1 answer: one builder. The
 * detail (host paths, kernel text) stays out of the API's answer. */
/* base64 of a JSON string's value, decoded (strict) and compared byte for byte. */
static void assert_b64(json_t *o, const char *k, const char *want, size_t wlen)
{
	unsigned char *dec = NULL;
	size_t n = 0;
	const char *v = str(o, k);

	ck_assert_msg(b64_decode(v, strlen(v), &dec, &n) == 0, "%s: not base64: %s", k, v);
	ck_assert_uint_eq(n, wlen);
	ck_assert(memcmp(dec, want, n) == 0);
	free(dec);
}

/* output_encoding base64: exact bytes (invalid UTF-8, NUL, controls) of
 * both streams of both steps; sizes that end mid-quantum; echoed with job_id. */
START_TEST(base64_output_exact)
{
	static char big[3 * 4096 * 2 + 2];   /* over two slices, not whole quanta */
	for (size_t i = 0; i < sizeof big; i++)
		big[i] = (char)(i * 131 + 7);
	res.nsteps = 2;
	res.steps[0] = (struct jail_step_result){ .status = JAIL_SUCCESS };
	set_buf(&res.steps[0].err, "warn\xff\x00", 6);
	res.steps[1] = (struct jail_step_result){ .status = JAIL_SUCCESS };
	set_buf(&res.steps[1].out, "\x00\x01\xc0\x80\xed\xa0\x80\xf5\"\\\n", 11);
	set_buf(&res.steps[1].err, big, sizeof big);
	struct resp_opts o = { .has_compile = true, .output_encoding = "base64", .job_id = "j-1",
	                       .request_id = "r1" };
	json_t *j = streamed_result(&res, &o);
	ck_assert_str_eq(str(j, "output_encoding"), "base64");
	ck_assert_str_eq(str(j, "job_id"), "j-1");
	assert_b64(j, "stdout", "\x00\x01\xc0\x80\xed\xa0\x80\xf5\"\\\n", 11);
	assert_b64(j, "stderr", big, sizeof big);
	assert_b64(json_object_get(j, "compile"), "stderr", "warn\xff\x00", 6);
	assert_b64(json_object_get(j, "compile"), "stdout", "", 0);
	/* The answer's first keys: request_id, job_id, output_encoding. */
	char *s = json_dumps(j, JSON_COMPACT);
	ck_assert_ptr_nonnull(strstr(s, "{\"request_id\":\"r1\",\"job_id\":\"j-1\",\"output_encoding\":\"base64\",\"status\""));
	free(s);
	json_decref(j);
	clear();
	/* utf8 asked: text as before, and said so; not asked: not said. */
	res.nsteps = 1;
	set_buf(&res.steps[0].out, "a\xff", 2);
	o = (struct resp_opts){ .output_encoding = "utf8" };
	j = streamed_result(&res, &o);
	ck_assert_str_eq(str(j, "output_encoding"), "utf8");
	ck_assert_str_eq(str(j, "stdout"), "a\xef\xbf\xbd");
	ck_assert_ptr_null(json_object_get(j, "job_id"));
	json_decref(j);
	o = (struct resp_opts){ 0 };
	j = streamed_result(&res, &o);
	ck_assert_ptr_null(json_object_get(j, "output_encoding"));
	json_decref(j);
	clear();
}
END_TEST

/* What is appended to stderr (a handler's traceback, an exec failure's
 * line) is in the base64 too, joined as in text. */
START_TEST(base64_with_appended_stderr)
{
	for (size_t len = 0; len < 5; len++) {
		const char *raw = "tr\xffz\n";
		char want[64];
		res.nsteps = 1;
		res.steps[0].status = JAIL_SUCCESS;
		set_buf(&res.steps[0].err, raw, len);
		set_buf(&res.result, "{\"ok\": false, \"error\": \"E: x\", \"traceback\": \"TB\\n\"}", 51);
		res.has_result = true;
		struct resp_opts o = { .handler_mode = true, .output_encoding = "base64" };
		json_t *j = streamed_result(&res, &o);
		size_t n = len;
		memcpy(want, raw, len);
		if (len)
			want[n++] = '\n';
		memcpy(want + n, "TB\n", 3);
		assert_b64(j, "stderr", want, n + 3);
		ck_assert_str_eq(str(j, "handler_error"), "E: x");
		json_decref(j);
		clear();
	}
	res.nsteps = 1;
	res.steps[0] = (struct jail_step_result){ .status = JAIL_ERROR, .exit_code = 127,
	                                          .exec_failed = true, .exec_errno = ENOENT };
	snprintf(res.steps[0].exec_name, sizeof res.steps[0].exec_name, "pyhton");
	struct resp_opts o = { .output_encoding = "base64" };
	json_t *j = streamed_result(&res, &o);
	assert_b64(j, "stderr", "pyhton: command not found\n", 26);
	ck_assert_str_eq(str(json_object_get(j, "exec_error"), "message"), "pyhton: command not found");
	json_decref(j);
	clear();
}
END_TEST

START_TEST(sandbox_failure_shape)
{
	struct jail_error e = { .step = "mount /proc", .err = 13, .detail = "/secret/host/path" };
	json_t *a = resp_sandbox_failure(&e, false);
	json_t *op = resp_sandbox_failure(&e, true);
	json_t *err = json_object_get(a, "error");
	char *text = json_dumps(a, JSON_COMPACT);

	ck_assert_int_eq(json_object_size(a), 1);
	ck_assert_str_eq(json_string_value(json_object_get(err, "code")), "sandbox_failure");
	ck_assert_str_eq(json_string_value(json_object_get(err, "step")), "mount /proc");
	ck_assert_int_eq(json_integer_value(json_object_get(err, "errno")), 13);
	ck_assert_ptr_nonnull(json_string_value(json_object_get(err, "message")));
	ck_assert_int_eq(json_object_size(err), 4);
	ck_assert_ptr_null(strstr(text, "secret"));
	/* sandbox-run's: the same object, the detail in the message. */
	json_object_set_new(json_object_get(op, "error"), "message",
	                    json_string(json_string_value(json_object_get(err, "message"))));
	ck_assert(json_equal(a, op));
	free(text);
	json_decref(op);
	op = resp_sandbox_failure(&e, true);
	text = json_dumps(op, JSON_COMPACT);
	ck_assert_ptr_nonnull(strstr(text, "mount /proc': Permission denied: /secret/host/path"));
	free(text);
	json_decref(op);
	json_decref(a);
}
END_TEST

Suite *resp_suite(void)
{
	Suite *s = suite_create("response");
	TCase *tc = tcase_create("core");
	tcase_add_test(tc, success_shape);
	tcase_add_test(tc, killed_and_timeout);
	tcase_add_test(tc, invalid_utf8_output);
	tcase_add_test(tc, handler_ok);
	tcase_add_test(tc, handler_raised);
	tcase_add_test(tc, handler_traceback_to_stderr);
	tcase_add_test(tc, handler_missing_or_malformed);
	tcase_add_test(tc, compile_error);
	tcase_add_test(tc, compile_then_run);
	tcase_add_test(tc, exec_failure_says_why);
	tcase_add_test(tc, exec_failure_name_cut_mid_character);
	tcase_add_test(tc, exit_127_of_a_program_is_not_exec_error);
	tcase_add_test(tc, sandbox_failure_shape);
	tcase_add_test(tc, base64_output_exact);
	tcase_add_test(tc, base64_with_appended_stderr);
	suite_add_tcase(s, tc);
	return s;
}

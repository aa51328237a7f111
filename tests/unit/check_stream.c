/* check_stream.c - the lines of a streamed run (src/api/resp_stream.c). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api_test.h"
#include "api/resp_stream.h"
#include "common/b64.h"
#include "common/utf8.h"

static struct resp_nd_buf out;
static struct resp_nd_carry carry;

static void reset(void)
{
	resp_nd_buf_free(&out);
	memset(&carry, 0, sizeof carry);
}

/* The lines appended so far, as one NUL-terminated text, then cleared. */
static char *take(void)
{
	char *s = malloc(out.len + 1);

	ck_assert_ptr_nonnull(s);
	memcpy(s, out.p ? out.p : "", out.len);
	s[out.len] = '\0';
	out.len = 0;
	return s;
}

static void feed(int stream, const char *data, size_t len, bool end)
{
	ck_assert_int_eq(resp_nd_output(&out, &carry, NULL, stream, data, len, end), 0);
}

static void expect(const char *want)
{
	char *got = take();

	ck_assert_str_eq(got, want);
	free(got);
}

/* Every line is one JSON object that jansson reads back. */
static json_t *one_line(void)
{
	char *text = take();
	size_t n = strlen(text);
	json_error_t je;

	ck_assert_msg(n && text[n - 1] == '\n' && !memchr(text, '\n', n - 1), "not one line: %s", text);
	json_t *j = json_loadb(text, n - 1, 0, &je);
	ck_assert_msg(j != NULL, "not JSON: %s: %s", je.text, text);
	free(text);
	return j;
}

START_TEST(text_escaped_as_in_the_answer)
{
	static const char data[] = "a\"b\\c\n\t\x01\x7f" "\xc3\xa9" "\0z";

	feed(1, data, sizeof data - 1, false);
	expect("{\"type\":\"stdout\",\"data\":\"a\\\"b\\\\c\\n\\t\\u0001\x7f\xc3\xa9\\u0000z\"}\n");
	feed(2, "e", 1, false);
	expect("{\"type\":\"stderr\",\"data\":\"e\"}\n");
	feed(1, "x", 0, false);
	expect("");                     /* no bytes, no line */
	reset();
}
END_TEST

START_TEST(character_split_across_reads)
{
	/* "€" is E2 82 AC; "😀" is F0 9F 98 80 */
	feed(1, "x\xe2\x82", 3, false);
	expect("{\"type\":\"stdout\",\"data\":\"x\"}\n");
	ck_assert_uint_eq(carry.n, 2);
	feed(1, "\xac y", 3, false);
	expect("{\"type\":\"stdout\",\"data\":\"\xe2\x82\xac y\"}\n");
	ck_assert_uint_eq(carry.n, 0);
	/* one byte at a time: nothing until the character is whole */
	feed(1, "\xf0", 1, false);
	feed(1, "\x9f", 1, false);
	feed(1, "\x98", 1, false);
	expect("");
	feed(1, "\x80", 1, false);
	expect("{\"type\":\"stdout\",\"data\":\"\xf0\x9f\x98\x80\"}\n");
	reset();
}
END_TEST

static void expect_base64(int stream, const char *bytes, size_t len)
{
	json_t *j = one_line();
	size_t n;
	unsigned char *dec;

	ck_assert_str_eq(json_string_value(json_object_get(j, "type")), stream == 1 ? "stdout" : "stderr");
	ck_assert_str_eq(json_string_value(json_object_get(j, "encoding")), "base64");
	ck_assert_uint_eq(json_object_size(j), 3);
	ck_assert_int_eq(b64_decode(json_string_value(json_object_get(j, "data")),
	                            json_string_length(json_object_get(j, "data")), &dec, &n), 0);
	ck_assert_uint_eq(n, len);
	ck_assert(memcmp(dec, bytes, len) == 0);
	free(dec);
	json_decref(j);
}

START_TEST(invalid_bytes_go_as_base64)
{
	feed(1, "ok\xff\x00", 4, false);
	expect_base64(1, "ok\xff\x00", 4);
	/* an overlong, a surrogate, above U+10FFFF: all invalid, never held */
	feed(2, "\xc0\x80", 2, false);
	expect_base64(2, "\xc0\x80", 2);
	feed(2, "\xed\xa0\x80", 3, false);
	expect_base64(2, "\xed\xa0\x80", 3);
	feed(2, "\xf4\x90", 2, false);
	expect_base64(2, "\xf4\x90", 2);
	ck_assert_uint_eq(carry.n, 0);
	/* held bytes that the next read proves invalid: base64, all of them */
	feed(1, "a\xe2", 2, false);
	expect("{\"type\":\"stdout\",\"data\":\"a\"}\n");
	feed(1, "Ab", 2, false);
	expect_base64(1, "\xe2" "Ab", 3);
	/* a valid chunk after an invalid one is text again */
	feed(1, "fine", 4, false);
	expect("{\"type\":\"stdout\",\"data\":\"fine\"}\n");
	reset();
}
END_TEST

START_TEST(held_bytes_at_the_end_go_as_they_are)
{
	feed(2, "\xe2\x82", 2, false);
	expect("");
	feed(2, NULL, 0, true);
	expect_base64(2, "\xe2\x82", 2);
	ck_assert_uint_eq(carry.n, 0);
	/* with end, a read's own incomplete end is not held either */
	feed(2, "z\xc3", 2, true);
	expect_base64(2, "z\xc3", 2);
	reset();
}
END_TEST

START_TEST(step_named)
{
	ck_assert_int_eq(resp_nd_output(&out, &carry, "compile", 2, "w", 1, false), 0);
	expect("{\"type\":\"stderr\",\"step\":\"compile\",\"data\":\"w\"}\n");
	ck_assert_int_eq(resp_nd_output(&out, &carry, "run", 1, "\xff", 1, false), 0);
	expect("{\"type\":\"stdout\",\"step\":\"run\",\"encoding\":\"base64\",\"data\":\"/w==\"}\n");
	reset();
}
END_TEST

/* A read is at most 64 KiB: its line at most 6 times that (all \u00XX). */
START_TEST(line_size_bounded)
{
	size_t n = 65536;
	char *d = malloc(n);

	memset(d, 1, n);
	feed(1, d, n, false);
	ck_assert_uint_eq(out.len, strlen("{\"type\":\"stdout\",\"data\":\"\"}\n") + 6 * n);
	json_decref(one_line());
	memset(d, 0xff, n);
	feed(1, d, n, false);
	ck_assert_uint_le(out.len, 64 + (n + 2) / 3 * 4);
	json_decref(one_line());
	free(d);
	reset();
}
END_TEST

START_TEST(start_and_error_lines)
{
	struct jail_error e = { .step = "mount /proc", .err = 2 };

	ck_assert_int_eq(resp_nd_start(&out, "rid-1"), 0);
	expect("{\"type\":\"start\",\"request_id\":\"rid-1\"}\n");
	ck_assert_int_eq(resp_nd_error(&out, resp_sandbox_failure(&e, false), "rid-2"), 0);
	json_t *j = one_line();
	ck_assert_str_eq(json_string_value(json_object_get(j, "type")), "error");
	ck_assert_str_eq(json_string_value(json_object_get(j, "request_id")), "rid-2");
	json_t *err = json_object_get(j, "error");
	ck_assert_str_eq(json_string_value(json_object_get(err, "code")), "sandbox_failure");
	ck_assert_str_eq(json_string_value(json_object_get(err, "step")), "mount /proc");
	ck_assert_int_eq(json_integer_value(json_object_get(err, "errno")), 2);
	json_decref(j);
	reset();
}
END_TEST

struct sink { char *buf; size_t len; };

static int sink_put(const char *p, size_t n, void *data)
{
	struct sink *k = data;

	k->buf = realloc(k->buf, k->len + n + 1);
	ck_assert_ptr_nonnull(k->buf);
	memcpy(k->buf + k->len, p, n);
	k->len += n;
	k->buf[k->len] = '\0';
	return 0;
}

static void set_buf(struct jail_buf *b, const char *s)
{
	b->len = strlen(s);
	b->data = strdup(s);
}

/* The result line: the whole answer's object with "type" first, output
 * that went as lines left out, what the service adds to stderr kept. */
START_TEST(result_line_leaves_streamed_output_out)
{
	struct jail_result res;
	struct resp_opts o = { .request_id = "rid", .output_streamed = true, .handler_mode = true };
	struct sink k = { NULL, 0 };
	json_error_t je;

	memset(&res, 0, sizeof res);
	res.nsteps = 1;
	res.steps[0].status = JAIL_SUCCESS;
	set_buf(&res.steps[0].out, "lots of output");
	res.steps[0].out.truncated = true;
	set_buf(&res.steps[0].err, "partial line");
	set_buf(&res.result, "{\"ok\": false, \"error\": \"ValueError: bad\", \"traceback\": \"TB\\n\"}");
	res.has_result = true;
	ck_assert_int_eq(resp_nd_result(&res, &o, sink_put, &k), 0);
	ck_assert_msg(strncmp(k.buf, "{\"type\":\"result\",\"request_id\":\"rid\",\"status\":\"error\",", 52) == 0,
	              "%s", k.buf);
	ck_assert(k.len && k.buf[k.len - 1] == '\n' && !memchr(k.buf, '\n', k.len - 1));
	json_t *j = json_loads(k.buf, 0, &je);
	ck_assert_msg(j != NULL, "%s: %s", je.text, k.buf);
	ck_assert_str_eq(json_string_value(json_object_get(j, "stdout")), "");
	/* the streamed stderr did not end with '\n': the whole answer's join */
	ck_assert_str_eq(json_string_value(json_object_get(j, "stderr")), "\nTB\n");
	ck_assert(json_is_true(json_object_get(j, "stdout_truncated")));
	ck_assert(json_is_false(json_object_get(j, "stderr_truncated")));
	ck_assert_str_eq(json_string_value(json_object_get(j, "handler_error")), "ValueError: bad");
	/* with output_encoding base64, what the service adds is base64 too */
	o.output_encoding = "base64";
	free(k.buf);
	k = (struct sink){ NULL, 0 };
	ck_assert_int_eq(resp_nd_result(&res, &o, sink_put, &k), 0);
	json_t *jb = json_loads(k.buf, 0, NULL);
	ck_assert_ptr_nonnull(jb);
	ck_assert_str_eq(json_string_value(json_object_get(jb, "stderr")), "ClRCCg==");   /* "\nTB\n" */
	ck_assert_str_eq(json_string_value(json_object_get(jb, "stdout")), "");
	json_decref(jb);
	o.output_encoding = NULL;
	/* every other member is the whole answer's */
	o.output_streamed = false;
	o.request_id = NULL;
	json_t *whole = resp_result(&res, &o);
	const char *key;
	json_t *v;
	json_object_foreach(whole, key, v)
		if (strcmp(key, "stdout") && strcmp(key, "stderr"))
			ck_assert_msg(json_equal(v, json_object_get(j, key)), "%s differs", key);
	ck_assert_uint_eq(json_object_size(j), json_object_size(whole) + 2);   /* type, request_id */
	json_decref(whole);
	json_decref(j);
	free(k.buf);
	free(res.steps[0].out.data);
	free(res.steps[0].err.data);
	free(res.result.data);
}
END_TEST

/* An exec error's message is the service's, not the program's output. */
START_TEST(result_line_keeps_exec_error_text)
{
	struct jail_result res;
	struct resp_opts o = { .output_streamed = true, .has_compile = true };
	struct sink k = { NULL, 0 };

	memset(&res, 0, sizeof res);
	res.nsteps = 2;
	res.steps[0].status = JAIL_SUCCESS;
	set_buf(&res.steps[0].err, "warning\n");
	res.steps[1].status = JAIL_ERROR;
	res.steps[1].exit_code = 127;
	res.steps[1].exec_failed = true;
	res.steps[1].exec_errno = 2;
	strcpy(res.steps[1].exec_name, "pyhton");
	ck_assert_int_eq(resp_nd_result(&res, &o, sink_put, &k), 0);
	json_t *j = json_loads(k.buf, 0, NULL);
	ck_assert_ptr_nonnull(j);
	ck_assert_str_eq(json_string_value(json_object_get(j, "stderr")), "pyhton: command not found\n");
	json_t *c = json_object_get(j, "compile");
	ck_assert_str_eq(json_string_value(json_object_get(c, "stderr")), "");
	ck_assert_str_eq(json_string_value(json_object_get(c, "stdout")), "");
	json_decref(j);
	free(k.buf);
	free(res.steps[0].err.data);
}
END_TEST

START_TEST(incomplete_sequences)
{
	static const struct { const char *s; size_t n; bool incomplete; } cases[] = {
		{ "\xe2", 1, true }, { "\xe2\x82", 2, true }, { "\xf0\x9f\x98", 3, true },
		{ "\xc3", 1, true }, { "\xe2\x82\xac", 3, false },   /* whole: not incomplete */
		{ "a", 1, false }, { "\x80", 1, false }, { "\xc0", 1, false }, { "\xff", 1, false },
		{ "\xe0\x80", 2, false },   /* overlong whatever follows */
		{ "\xed\xa0", 2, false },   /* surrogate */
		{ "\xf4\x90", 2, false },   /* above U+10FFFF */
		{ "\xe2" "A", 2, false },
	};

	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
		ck_assert_msg(utf8_incomplete((const unsigned char *)cases[i].s, cases[i].n) ==
		              cases[i].incomplete, "case %zu", i);
}
END_TEST

Suite *stream_suite(void)
{
	Suite *s = suite_create("stream");
	TCase *tc = tcase_create("core");
	tcase_add_test(tc, text_escaped_as_in_the_answer);
	tcase_add_test(tc, character_split_across_reads);
	tcase_add_test(tc, invalid_bytes_go_as_base64);
	tcase_add_test(tc, held_bytes_at_the_end_go_as_they_are);
	tcase_add_test(tc, step_named);
	tcase_add_test(tc, line_size_bounded);
	tcase_add_test(tc, start_and_error_lines);
	tcase_add_test(tc, result_line_leaves_streamed_output_out);
	tcase_add_test(tc, result_line_keeps_exec_error_text);
	tcase_add_test(tc, incomplete_sequences);
	suite_add_tcase(s, tc);
	return s;
}

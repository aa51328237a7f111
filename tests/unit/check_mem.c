/*
 * check_mem.c - the bounds on a responder's memory (issue 8, findings 2
 * and 3): the pre-scan of JSON text (req_scan.c), the byte budget on
 * jansson and the bounded loader (api_mem.c), and the encoded size and
 * streaming of program output in the answer (resp_write.c).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api_test.h"
#include "api/api_load.h"
#include "common/utf8.h"

/* ---------- pre-scan ---------- */

static enum req_scan_status scan(const char *text, size_t depth, size_t values,
                                 struct req_scan *s)
{
	req_scan_init(s, depth, values);
	return req_scan_feed(s, text, strlen(text));
}

START_TEST(scan_counts_values_and_keys)
{
	struct req_scan s;

	ck_assert_int_eq(scan("{\"a\": [1, true, null, \"x\", -2.5e3], \"b\": {}}", 32, 100, &s),
	                 REQ_SCAN_OK);
	/* object, "a", array, 1, true, null, "x", -2.5e3, "b", {} */
	ck_assert_uint_eq(s.values, 10);
	ck_assert_uint_eq(s.depth, 0);
	ck_assert_int_eq(scan("[0,0,0]", 32, 4, &s), REQ_SCAN_OK);
	ck_assert_int_eq(scan("[0,0,0,0]", 32, 4, &s), REQ_SCAN_TOO_MANY);
	ck_assert_uint_eq(s.values, 5);
}
END_TEST

START_TEST(scan_strings_are_opaque)
{
	struct req_scan s;

	/* Brackets, commas and escaped quotes inside strings are text. */
	ck_assert_int_eq(scan("[\"[[[{{{,,,\", \"a\\\"]]]\\\\\", \"\\u005b\"]", 2, 100, &s),
	                 REQ_SCAN_OK);
	ck_assert_uint_eq(s.values, 4);
	ck_assert_uint_eq(s.depth, 0);
}
END_TEST

START_TEST(scan_depth)
{
	struct req_scan s;
	char deep[80];

	memset(deep, '[', 33);
	memset(deep + 33, ']', 33);
	deep[66] = '\0';
	ck_assert_int_eq(scan(deep, 33, 1000, &s), REQ_SCAN_OK);
	ck_assert_int_eq(scan(deep, 32, 1000, &s), REQ_SCAN_TOO_DEEP);
	ck_assert_uint_eq(s.depth, 33);
	/* Level 1 is the body's own object, as in max_json_depth. */
	ck_assert_int_eq(scan("{\"a\": {\"b\": 1}}", 2, 100, &s), REQ_SCAN_OK);
	ck_assert_int_eq(scan("{\"a\": {\"b\": []}}", 2, 100, &s), REQ_SCAN_TOO_DEEP);
}
END_TEST

START_TEST(scan_chunks_do_not_matter)
{
	static const char text[] = "{\"event\": [\"a\\\"b\", 12345, {\"k\": [true]}], \"x\": null}";
	struct req_scan whole, bytes;

	scan(text, 32, 1000, &whole);
	req_scan_init(&bytes, 32, 1000);
	for (size_t i = 0; i < sizeof text - 1; i++)
		ck_assert_int_eq(req_scan_feed(&bytes, text + i, 1), REQ_SCAN_OK);
	ck_assert_uint_eq(bytes.values, whole.values);
	ck_assert_uint_eq(bytes.depth, whole.depth);
	ck_assert_str_eq(bytes.field, whole.field);
	ck_assert_str_eq(bytes.field, "x");
}
END_TEST

START_TEST(scan_names_the_top_level_field)
{
	struct req_scan s;

	ck_assert_int_eq(scan("{\"runtime\": \"python\", \"event\": [0, 0, 0, 0", 32, 6, &s),
	                 REQ_SCAN_TOO_MANY);
	ck_assert_str_eq(s.field, "event");
	/* A nested key is not a field of the body. */
	ck_assert_int_eq(scan("{\"env\": {\"A\": 1, \"B\": 2, \"C\": 3", 32, 6, &s),
	                 REQ_SCAN_TOO_MANY);
	ck_assert_str_eq(s.field, "env");
	/* Keys that are not plain names are not quoted back. */
	scan("{\"ev\\u0065nt\": [0, 0, 0, 0", 32, 4, &s);
	ck_assert_str_eq(s.field, "");
	scan("{\"a-b\": [0, 0, 0, 0", 32, 4, &s);
	ck_assert_str_eq(s.field, "");
	scan("[\"event\", [0, 0, 0, 0", 32, 4, &s);
	ck_assert_str_eq(s.field, "");
}
END_TEST

START_TEST(scan_status_is_sticky)
{
	struct req_scan s;

	ck_assert_int_eq(scan("[0,0,0]", 32, 2, &s), REQ_SCAN_TOO_MANY);
	ck_assert_int_eq(req_scan_feed(&s, "]", 1), REQ_SCAN_TOO_MANY);
}
END_TEST

/* ---------- budget and bounded loading ---------- */

START_TEST(budget_counts_jansson)
{
	json_t *big;

	api_mem_install();
	api_mem_arm(1u << 20);
	ck_assert(!api_mem_exceeded());
	big = json_string("small");                     /* under the budget */
	ck_assert(!api_mem_exceeded());
	json_decref(big);
	char *text = malloc(2u << 20);
	memset(text, 'a', 2u << 20);
	big = json_stringn(text, 2u << 20);
	ck_assert_ptr_nonnull(big);                     /* never fails on purpose */
	ck_assert(api_mem_exceeded());
	ck_assert_uint_ge(api_mem_peak(), 2u << 20);
	size_t live = api_mem_live();
	json_decref(big);
	ck_assert_uint_le(api_mem_live() + (2u << 20), live);
	ck_assert(api_mem_disarm());
	ck_assert(!api_mem_exceeded());
	/* Disarmed: nothing counts against a budget. */
	big = json_stringn(text, 2u << 20);
	ck_assert(!api_mem_exceeded());
	json_decref(big);
	free(text);
}
END_TEST

static json_t *load(const char *text, size_t len, size_t max_bytes, size_t values,
                    size_t budget, struct api_load *l)
{
	struct api_mem_src m = { text, len };
	json_error_t je;
	json_t *doc;

	api_load_init(l, api_mem_read, &m, max_bytes, 32, values, budget);
	doc = api_load(l, 0, &je);
	ck_assert(!api_mem_exceeded());                 /* disarmed by api_load */
	return doc;
}

START_TEST(load_stops_at_the_budget)
{
	/* One long string: jansson's token copy and the string cross 1 MiB.
	 * Stopping between chunks is clean (a failing allocation would make
	 * jansson's lexer read past its buffer). */
	size_t n = 3u << 20;
	char *text = malloc(n + 5);
	struct api_load l;

	memcpy(text, "[\"", 2);
	memset(text + 2, 'x', n);
	memcpy(text + n + 2, "\"]", 3);
	ck_assert_ptr_null(load(text, n + 4, n + 4, 100, 1u << 20, &l));
	ck_assert_int_eq(l.fail, API_LOAD_BUDGET);
	/* Stopped about where the budget ran out, not at the end. */
	ck_assert_uint_lt(l.got, 2u << 20);
	json_t *doc = load(text, n + 4, n + 4, 100, 16u << 20, &l);
	ck_assert_ptr_nonnull(doc);
	ck_assert_int_eq(l.fail, API_LOAD_OK);
	json_decref(doc);
	free(text);
}
END_TEST

START_TEST(load_values_and_size)
{
	struct api_load l;
	json_t *doc;

	ck_assert_ptr_null(load("[{},{},{}]", 10, 100, 3, 1u << 20, &l));
	ck_assert_int_eq(l.fail, API_LOAD_SCAN);
	ck_assert_int_eq(l.scan.status, REQ_SCAN_TOO_MANY);
	ck_assert_ptr_null(load("[1,2,3]", 7, 6, 100, 1u << 20, &l));
	ck_assert_int_eq(l.fail, API_LOAD_TOO_LARGE);
	ck_assert_ptr_null(load("[1,2", 4, 100, 100, 1u << 20, &l));
	ck_assert_int_eq(l.fail, API_LOAD_OK);             /* invalid JSON: jansson says */
	doc = load("[{},{}]", 7, 7, 3, 1u << 20, &l);
	ck_assert_ptr_nonnull(doc);
	json_decref(doc);
}
END_TEST

static long failing_read(void *ctx, char *buf, size_t len)
{
	int *calls = ctx;
	(void)len;
	if ((*calls)++ == 0) {
		buf[0] = '[';
		return 1;
	}
	return -1;
}

START_TEST(load_short_body)
{
	struct api_load l;
	json_error_t je;
	int calls = 0;

	api_load_init(&l, failing_read, &calls, 100, 32, 100, 1u << 20);
	ck_assert_ptr_null(api_load(&l, 0, &je));
	ck_assert_int_eq(l.fail, API_LOAD_SHORT);
}
END_TEST

/* ---------- the answer: encoded size and streaming ---------- */

/* What jansson makes of the cleaned text, without its quotes. */
static size_t jansson_len(const char *s, size_t len)
{
	size_t n;
	char *clean = utf8_clean(s, len, &n);
	json_t *j = json_stringn(clean, n);
	char *d = json_dumps(j, JSON_ENCODE_ANY | JSON_COMPACT);
	size_t out = strlen(d) - 2;

	free(d);
	json_decref(j);
	free(clean);
	return out;
}

START_TEST(encoded_len_cases)
{
	ck_assert_uint_eq(resp_text_encoded_len("", 0), 0);
	ck_assert_uint_eq(resp_text_encoded_len(NULL, 5), 0);
	ck_assert_uint_eq(resp_text_encoded_len("abc", 3), 3);
	ck_assert_uint_eq(resp_text_encoded_len("\x01", 1), 6);     /* \u0001 */
	ck_assert_uint_eq(resp_text_encoded_len("\0", 1), 6);       /* \u0000 */
	ck_assert_uint_eq(resp_text_encoded_len("\n\t\"\\", 4), 8);
	ck_assert_uint_eq(resp_text_encoded_len("\xff", 1), 3);     /* U+FFFD */
	ck_assert_uint_eq(resp_text_encoded_len("\xc3\xa9", 2), 2); /* é as it is */
	ck_assert_uint_eq(resp_text_encoded_len("\x7f/", 2), 2);
}
END_TEST

START_TEST(encoded_len_is_jansson_and_at_most_six)
{
	char b[1];
	char buf[4096];

	for (int c = 0; c < 256; c++) {
		b[0] = (char)c;
		size_t n = resp_text_encoded_len(b, 1);
		ck_assert_uint_eq(n, jansson_len(b, 1));
		ck_assert_uint_le(n, 6);
	}
	srand(8);
	for (int round = 0; round < 200; round++) {
		size_t len = (size_t)(rand() % (int)sizeof buf);
		for (size_t i = 0; i < len; i++)
			buf[i] = (char)(round % 2 ? rand() : rand() % 0x90);
		size_t n = resp_text_encoded_len(buf, len);
		ck_assert_uint_eq(n, jansson_len(buf, len));
		ck_assert_uint_le(n, 6 * len);
	}
}
END_TEST

struct counter { size_t bytes, calls, max_chunk; int fail_after; };

static int count_put(const char *p, size_t n, void *data)
{
	struct counter *c = data;
	(void)p;
	c->bytes += n;
	c->max_chunk = n > c->max_chunk ? n : c->max_chunk;
	return c->fail_after >= 0 && (int)++c->calls > c->fail_after ? -1 : 0;
}

START_TEST(stream_is_chunked_and_sized)
{
	/* 1 MiB of control characters on stdout: 6 MiB in the answer, written
	 * in chunks no larger than the writer's buffer. */
	struct jail_result res;
	size_t n = 1u << 20;
	char *out = malloc(n);
	struct counter c = { 0, 0, 0, -1 };
	struct resp_opts o = { .request_id = "r" };

	memset(&res, 0, sizeof res);
	memset(out, 1, n);
	res.nsteps = 1;
	res.steps[0].out.data = out;
	res.steps[0].out.len = n;
	ck_assert_int_eq(resp_result_write(&res, &o, count_put, &c), 0);
	ck_assert_uint_ge(c.bytes, 6 * n);
	ck_assert_uint_le(c.bytes, 6 * n + 512);
	ck_assert_uint_le(c.max_chunk, 16384);
	/* A write that fails (the client left) stops the answer. */
	struct counter f = { 0, 0, 0, 2 };
	ck_assert_int_eq(resp_result_write(&res, &o, count_put, &f), -1);
	ck_assert_uint_eq(f.calls, 3);
	free(out);
}
END_TEST

Suite *mem_suite(void)
{
	Suite *s = suite_create("memory bounds");
	TCase *tc = tcase_create("scan");
	tcase_add_test(tc, scan_counts_values_and_keys);
	tcase_add_test(tc, scan_strings_are_opaque);
	tcase_add_test(tc, scan_depth);
	tcase_add_test(tc, scan_chunks_do_not_matter);
	tcase_add_test(tc, scan_names_the_top_level_field);
	tcase_add_test(tc, scan_status_is_sticky);
	suite_add_tcase(s, tc);
	tc = tcase_create("budget");
	tcase_add_test(tc, budget_counts_jansson);
	tcase_add_test(tc, load_stops_at_the_budget);
	tcase_add_test(tc, load_values_and_size);
	tcase_add_test(tc, load_short_body);
	suite_add_tcase(s, tc);
	tc = tcase_create("answer");
	tcase_add_test(tc, encoded_len_cases);
	tcase_add_test(tc, encoded_len_is_jansson_and_at_most_six);
	tcase_add_test(tc, stream_is_chunked_and_sized);
	suite_add_tcase(s, tc);
	return s;
}

/*
 * check_fcgi.c - unit tests of the responder's pure helpers: routing
 * (src/fcgi/route.c) and the HTTP helpers of src/fcgi/http_util.c
 * (Content-Length, Content-Type, request ids, status texts, queue age).
 * No libfcgi: these files must stay free of FastCGI.
 */
#include <check.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fcgi/http_util.h"
#include "fcgi/route.h"
#include "ck_run.h"

/* Every endpoint by its method, with and without a query string. */
START_TEST(route_endpoints)
{
	static const struct { const char *method, *path; enum route_id id; } cases[] = {
		{ "POST", "/api/sandbox/run", ROUTE_RUN },
		{ "GET", "/api/sandbox/health", ROUTE_HEALTH },
		{ "GET", "/api/sandbox/info", ROUTE_INFO },
		{ "GET", "/api/sandbox/runtimes", ROUTE_RUNTIMES },
		{ "GET", "/api/sandbox/openapi.json", ROUTE_OPENAPI },
		{ "GET", "/api/sandbox/metrics", ROUTE_METRICS },
		/* HEAD: a GET endpoint's answer without its body */
		{ "HEAD", "/api/sandbox/health", ROUTE_HEALTH },
		{ "HEAD", "/api/sandbox/metrics?x", ROUTE_METRICS },
		{ "POST", "/api/sandbox/run?x=1", ROUTE_RUN },
		{ "GET", "/api/sandbox/health#frag", ROUTE_HEALTH },
	};

	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		const char *allow = "unset";

		ck_assert_msg(route_match(cases[i].method, cases[i].path, &allow) == cases[i].id,
		              "case %zu: %s %s", i, cases[i].method, cases[i].path);
		ck_assert_str_eq(allow, "unset");
	}
}
END_TEST

/* A known path with the wrong method is a 405 naming the one allowed. */
START_TEST(route_bad_method)
{
	const char *allow = NULL;

	ck_assert_int_eq(route_match("GET", "/api/sandbox/run", &allow), ROUTE_BAD_METHOD);
	ck_assert_str_eq(allow, "POST");
	allow = NULL;
	/* HEAD only stands for GET, never for POST */
	ck_assert_int_eq(route_match("HEAD", "/api/sandbox/run", &allow), ROUTE_BAD_METHOD);
	ck_assert_str_eq(allow, "POST");
	allow = NULL;
	ck_assert_int_eq(route_match("head", "/api/sandbox/info", &allow), ROUTE_BAD_METHOD);
	allow = NULL;
	ck_assert_int_eq(route_match("POST", "/api/sandbox/health?a", &allow), ROUTE_BAD_METHOD);
	ck_assert_str_eq(allow, "GET, HEAD");
	allow = NULL;
	/* Methods are case-sensitive (RFC 9110, 9.1). */
	ck_assert_int_eq(route_match("post", "/api/sandbox/run", &allow), ROUTE_BAD_METHOD);
	ck_assert_str_eq(allow, "POST");
}
END_TEST

/* Prefixes, extensions, other case and missing values are not endpoints. */
START_TEST(route_not_found)
{
	static const char *const paths[] = {
		"/api/sandbox/", "/api/sandbox/ru", "/api/sandbox/runx", "/api/sandbox/run/",
		"/API/sandbox/run", "/api/sandbox//run", "/run", "", "?/api/sandbox/run",
	};
	const char *allow = NULL;

	for (size_t i = 0; i < sizeof paths / sizeof paths[0]; i++)
		ck_assert_msg(route_match("POST", paths[i], &allow) == ROUTE_NOT_FOUND,
		              "'%s' routed", paths[i]);
	ck_assert_int_eq(route_match(NULL, "/api/sandbox/run", &allow), ROUTE_NOT_FOUND);
	ck_assert_int_eq(route_match("POST", NULL, &allow), ROUTE_NOT_FOUND);
	ck_assert_ptr_null(allow);
}
END_TEST

#define SID "0123456789abcdef0123456789abcdef"

/* Session routes: {id} one segment, {path} the rest, both as sent. */
START_TEST(route_sessions)
{
	static const struct { const char *method, *path; enum route_id id; const char *sid, *file; }
	cases[] = {
		{ "POST", "/api/sandbox/sessions", ROUTE_SES_CREATE, NULL, NULL },
		{ "GET", "/api/sandbox/sessions?x=1", ROUTE_SES_LIST, NULL, NULL },
		{ "HEAD", "/api/sandbox/sessions", ROUTE_SES_LIST, NULL, NULL },
		{ "GET", "/api/sandbox/sessions/" SID, ROUTE_SES_GET, SID, NULL },
		{ "DELETE", "/api/sandbox/sessions/" SID, ROUTE_SES_DELETE, SID, NULL },
		{ "POST", "/api/sandbox/sessions/" SID "/run", ROUTE_SES_RUN, SID, NULL },
		{ "GET", "/api/sandbox/sessions/" SID "/files?path=a%2Fb", ROUTE_SES_FILES, SID, NULL },
		{ "GET", "/api/sandbox/sessions/x/files/a/b/c.txt", ROUTE_SES_FILE_GET, "x", "a/b/c.txt" },
		{ "PUT", "/api/sandbox/sessions/x/files/%2e%2e/..?q", ROUTE_SES_FILE_PUT, "x", "%2e%2e/.." },
		{ "DELETE", "/api/sandbox/sessions/x/files/a//", ROUTE_SES_FILE_DELETE, "x", "a//" },
		/* an id that is not one is still routed: the handler answers 400 */
		{ "GET", "/api/sandbox/sessions/..", ROUTE_SES_GET, "..", NULL },
		{ "GET", "/api/sandbox/sessions/%2e%2e/files/run", ROUTE_SES_FILE_GET, "%2e%2e", "run" },
	};

	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct route rt;

		ck_assert_msg(route_resolve(cases[i].method, cases[i].path, &rt) == cases[i].id,
		              "case %zu: %s %s", i, cases[i].method, cases[i].path);
		ck_assert(route_is_session(rt.id));
		if (cases[i].sid) {
			ck_assert_uint_eq(rt.sid_len, strlen(cases[i].sid));
			ck_assert(strncmp(rt.sid, cases[i].sid, rt.sid_len) == 0);
		} else {
			ck_assert_ptr_null(rt.sid);
		}
		if (cases[i].file) {
			ck_assert_uint_eq(rt.file_len, strlen(cases[i].file));
			ck_assert(strncmp(rt.file, cases[i].file, rt.file_len) == 0);
		} else {
			ck_assert_ptr_null(rt.file);
		}
	}
}
END_TEST

START_TEST(route_sessions_query_and_405)
{
	struct route rt;

	ck_assert_int_eq(route_resolve("GET", "/api/sandbox/sessions/x/files?path=a&b=c#f", &rt),
	                 ROUTE_SES_FILES);
	ck_assert_uint_eq(rt.query_len, strlen("path=a&b=c"));
	ck_assert(strncmp(rt.query, "path=a&b=c", rt.query_len) == 0);
	ck_assert_int_eq(route_resolve("PUT", "/api/sandbox/sessions", &rt), ROUTE_BAD_METHOD);
	ck_assert_str_eq(rt.allow, "GET, HEAD, POST");
	ck_assert_int_eq(route_resolve("POST", "/api/sandbox/sessions/x", &rt), ROUTE_BAD_METHOD);
	ck_assert_str_eq(rt.allow, "GET, HEAD, DELETE");
	ck_assert_int_eq(route_resolve("POST", "/api/sandbox/sessions/x/files/a", &rt),
	                 ROUTE_BAD_METHOD);
	ck_assert_str_eq(rt.allow, "GET, HEAD, PUT, DELETE");
	ck_assert_int_eq(route_resolve("GET", "/api/sandbox/sessions/x/run", &rt), ROUTE_BAD_METHOD);
	ck_assert_str_eq(rt.allow, "POST");
	/* empty parts and extra segments are not endpoints */
	static const char *const none[] = {
		"/api/sandbox/sessions/", "/api/sandbox/sessions//files", "/api/sandbox/sessions/x/",
		"/api/sandbox/sessions/x/files/", "/api/sandbox/sessions/x/run/y",
		"/api/sandbox/sessions/x/other", "/api/sandbox/sessionsx",
	};
	for (size_t i = 0; i < sizeof none / sizeof none[0]; i++)
		ck_assert_msg(route_resolve("GET", none[i], &rt) == ROUTE_NOT_FOUND, "%s", none[i]);
	ck_assert(route_is_session_path("/api/sandbox/sessions"));
	ck_assert(route_is_session_path("/api/sandbox/sessions?x"));
	ck_assert(route_is_session_path("/api/sandbox/sessions/a"));
	ck_assert(!route_is_session_path("/api/sandbox/sessionsx"));
	ck_assert(!route_is_session_path("/api/sandbox/%73essions/a"));
	ck_assert(!route_is_session_path(NULL));
	ck_assert(!route_is_session(ROUTE_RUN) && !route_is_session(ROUTE_BAD_METHOD));
}
END_TEST

/* Percent-decoding: exactly once, NUL kept as data, malformed refused. */
START_TEST(pct_decode)
{
	char out[16];
	size_t n = 99;

	ck_assert_int_eq(http_pct_decode("a%2e%2E%2fb", 11, false, out, sizeof out, &n), 0);
	ck_assert_str_eq(out, "a../b");
	ck_assert_uint_eq(n, 5);
	ck_assert_int_eq(http_pct_decode("%252e", 5, false, out, sizeof out, &n), 0);
	ck_assert_str_eq(out, "%2e");   /* once: not "." */
	ck_assert_int_eq(http_pct_decode("a%00b", 5, false, out, sizeof out, &n), 0);
	ck_assert_uint_eq(n, 3);
	ck_assert(memcmp(out, "a\0b", 3) == 0);
	ck_assert_int_eq(http_pct_decode("a+b", 3, false, out, sizeof out, &n), 0);
	ck_assert_str_eq(out, "a+b");
	ck_assert_int_eq(http_pct_decode("a+b%2B", 6, true, out, sizeof out, &n), 0);
	ck_assert_str_eq(out, "a b+");
	ck_assert_int_eq(http_pct_decode("", 0, false, out, sizeof out, &n), 0);
	ck_assert_uint_eq(n, 0);
	/* only the first len bytes count */
	ck_assert_int_eq(http_pct_decode("ab%41", 2, false, out, sizeof out, &n), 0);
	ck_assert_str_eq(out, "ab");
	static const char *const bad[] = { "%", "%4", "a%", "%zz", "%4g", "%g4", "%%41" };
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		ck_assert_msg(http_pct_decode(bad[i], strlen(bad[i]), false, out, sizeof out, &n) < 0,
		              "'%s' decoded", bad[i]);
	/* an escape cut by len is malformed, not read past len */
	ck_assert_int_eq(http_pct_decode("a%41", 3, false, out, sizeof out, &n), -1);
	/* output that does not fit (with its NUL) */
	ck_assert_int_eq(http_pct_decode("0123456789abcdef", 16, false, out, sizeof out, &n), -1);
	ck_assert_int_eq(http_pct_decode("0123456789abcde", 15, false, out, sizeof out, &n), 0);
}
END_TEST

START_TEST(query_param)
{
	const char *q = "a=1&path=x%2Fy&pathx=2&=3&path=second";
	size_t n = 0;
	const char *v = http_query_param(q, strlen(q), "path", &n);

	ck_assert_ptr_nonnull(v);
	ck_assert_uint_eq(n, 5);
	ck_assert(strncmp(v, "x%2Fy", n) == 0);
	v = http_query_param(q, strlen(q), "a", &n);
	ck_assert(v && n == 1 && *v == '1');
	ck_assert_ptr_null(http_query_param(q, strlen(q), "b", &n));
	ck_assert_ptr_null(http_query_param(NULL, 0, "path", &n));
	ck_assert_ptr_null(http_query_param("path", 4, "path", &n));   /* no '=' */
	v = http_query_param("path=", 5, "path", &n);
	ck_assert(v && n == 0);
	/* the length bounds the search */
	ck_assert_ptr_null(http_query_param("a=1&path=2", 3, "path", &n));
}
END_TEST

START_TEST(type_by_name)
{
	ck_assert_str_eq(http_type_by_name("a/b.json"), "application/json");
	ck_assert_str_eq(http_type_by_name("x.PNG"), "image/png");
	ck_assert_str_eq(http_type_by_name("page.html"), "text/plain; charset=utf-8");
	ck_assert_str_eq(http_type_by_name("noext"), "application/octet-stream");
	ck_assert_str_eq(http_type_by_name(".bashrc"), "application/octet-stream");
	ck_assert_str_eq(http_type_by_name("d.txt/bin"), "application/octet-stream");
	ck_assert_str_eq(http_type_by_name("x.svg"), "application/octet-stream");
}
END_TEST

START_TEST(length_valid)
{
	uint64_t v = 7;

	ck_assert_int_eq(http_parse_length("0", &v), 0);
	ck_assert_uint_eq(v, 0);
	ck_assert_int_eq(http_parse_length("25165824", &v), 0);
	ck_assert_uint_eq(v, 25165824);
	ck_assert_int_eq(http_parse_length("007", &v), 0);
	ck_assert_uint_eq(v, 7);
	/* Up to 2^64 - 1 (num_parse_u64; nginx refuses a length above
	 * 2^63 - 1 before us anyway), far above any body cap. */
	ck_assert_int_eq(http_parse_length("18446744073709551615", &v), 0);
	ck_assert_uint_eq(v, UINT64_MAX);
}
END_TEST

/* Anything but plain digits, and overflow, is refused; *out is kept. */
START_TEST(length_invalid)
{
	static const char *const bad[] = {
		"", "-1", "+1", " 1", "1 ", "1x", "0x10", "1e3", "1.0",
		"18446744073709551616", "99999999999999999999",
	};
	uint64_t v = 42;

	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		ck_assert_msg(http_parse_length(bad[i], &v) == -1, "'%s' accepted", bad[i]);
		ck_assert_uint_eq(v, 42);
	}
	ck_assert_int_eq(http_parse_length(NULL, &v), -1);
}
END_TEST

START_TEST(content_type)
{
	static const char *const good[] = {
		"application/json", "Application/JSON", "application/json; charset=utf-8",
		"  application/json", "application/json ;charset=utf-8", "application/json\t",
	};
	static const char *const bad[] = {
		"", "text/plain", "application/jsonx", "application/json-patch+json",
		"application/x-www-form-urlencoded", "application/", "json", "application/json,text/plain",
	};

	for (size_t i = 0; i < sizeof good / sizeof good[0]; i++)
		ck_assert_msg(http_is_json_type(good[i]), "'%s' refused", good[i]);
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		ck_assert_msg(!http_is_json_type(bad[i]), "'%s' accepted", bad[i]);
	ck_assert(!http_is_json_type(NULL));
}
END_TEST

/* Live output is asked for by naming its type with a weight above 0. */
START_TEST(accept_ndjson)
{
	static const char *const yes[] = {
		"application/x-ndjson", "Application/X-NDJSON", "application/x-ndjson; charset=utf-8",
		"application/json, application/x-ndjson", " application/x-ndjson ;q=0.5",
		"text/plain;q=0.1,application/x-ndjson;q=1", "application/x-ndjson;q=0.001",
	};
	static const char *const no[] = {
		"", "*/*", "application/json", "application/*", "application/x-ndjsonx",
		"application/x-ndjson;q=0", "application/x-ndjson; q=0.000", "application/x-ndjson;Q=0.0 ",
		"xapplication/x-ndjson", "text/plain; foo=\"application/x-ndjson\"",
	};

	for (size_t i = 0; i < sizeof yes / sizeof yes[0]; i++)
		ck_assert_msg(http_accepts_ndjson(yes[i]), "'%s' refused", yes[i]);
	for (size_t i = 0; i < sizeof no / sizeof no[0]; i++)
		ck_assert_msg(!http_accepts_ndjson(no[i]), "'%s' accepted", no[i]);
	ck_assert(!http_accepts_ndjson(NULL));
}
END_TEST

/* Request ids reach a response header and log lines: a short token only. */
START_TEST(reqid_validation)
{
	char max[HTTP_REQID_MAX + 2];
	static const char *const bad[] = {
		"", "a b", "a\r\nX-Evil: 1", "a\"b", "a/b", "a:b", "\xc3\xa9", "a\nb", "{}",
	};

	ck_assert(http_reqid_valid("abc-DEF_012.3"));
	memset(max, 'a', HTTP_REQID_MAX);
	max[HTTP_REQID_MAX] = '\0';
	ck_assert(http_reqid_valid(max));
	max[HTTP_REQID_MAX] = 'a';
	max[HTTP_REQID_MAX + 1] = '\0';
	ck_assert(!http_reqid_valid(max));
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		ck_assert_msg(!http_reqid_valid(bad[i]), "'%s' accepted", bad[i]);
	ck_assert(!http_reqid_valid(NULL));
}
END_TEST

/* A generated id is 32 hex digits, valid by the same rule, and random. */
START_TEST(reqid_generated)
{
	char a[HTTP_REQID_MAX + 1], b[HTTP_REQID_MAX + 1], small[32];

	ck_assert_int_eq(http_reqid_generate(a, sizeof a), 0);
	ck_assert_int_eq(http_reqid_generate(b, sizeof b), 0);
	ck_assert_uint_eq(strlen(a), 32);
	ck_assert_uint_eq(strspn(a, "0123456789abcdef"), 32);
	ck_assert(http_reqid_valid(a));
	ck_assert_str_ne(a, b);
	ck_assert_int_eq(http_reqid_generate(small, sizeof small), -1);
}
END_TEST

START_TEST(status_texts)
{
	ck_assert_str_eq(http_status_text(200), "OK");
	ck_assert_str_eq(http_status_text(400), "Bad Request");
	ck_assert_str_eq(http_status_text(404), "Not Found");
	ck_assert_str_eq(http_status_text(405), "Method Not Allowed");
	ck_assert_str_eq(http_status_text(413), "Payload Too Large");
	ck_assert_str_eq(http_status_text(415), "Unsupported Media Type");
	ck_assert_str_eq(http_status_text(500), "Internal Server Error");
	ck_assert_str_eq(http_status_text(503), "Service Unavailable");
	ck_assert_str_eq(http_status_text(201), "Created");
	ck_assert_str_eq(http_status_text(204), "No Content");
	ck_assert_str_eq(http_status_text(409), "Conflict");
	ck_assert_str_eq(http_status_text(501), "Not Implemented");
	ck_assert_str_eq(http_status_text(418), "Error");
}
END_TEST

/* The age is computed against the "now" given: no clock, no flakiness. */
START_TEST(queue_age)
{
	struct timespec now = { .tv_sec = 1700000010, .tv_nsec = 250000000 };

	ck_assert_int_eq(http_queue_age_ms("1700000010.250", &now), 0);
	ck_assert_int_eq(http_queue_age_ms("1700000000.000", &now), 10250);
	ck_assert_int_eq(http_queue_age_ms("1700000009", &now), 1250);
	/* A start in the future (clock steps) is no age, not a negative one. */
	ck_assert_int_eq(http_queue_age_ms("1700000020.000", &now), 0);
}
END_TEST

START_TEST(queue_age_invalid)
{
	static const char *const bad[] = { "", "abc", "12abc", "0", "-5.0", "1e999", "0.000" };
	struct timespec now = { .tv_sec = 1700000010, .tv_nsec = 0 };

	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		ck_assert_msg(http_queue_age_ms(bad[i], &now) == -1, "'%s' has an age", bad[i]);
	ck_assert_int_eq(http_queue_age_ms(NULL, &now), -1);
}
END_TEST

/* Only a known age strictly above a non-zero timeout is a 503. */
START_TEST(queue_expired)
{
	ck_assert(http_queue_expired(10001, 10000));
	ck_assert(!http_queue_expired(10000, 10000));
	ck_assert(!http_queue_expired(0, 10000));
	ck_assert(!http_queue_expired(-1, 10000));
	ck_assert(!http_queue_expired(INT64_MAX, 0));
}
END_TEST

START_TEST(route_runs)
{
	const char *allow = NULL;
	char id[72];

	ck_assert_int_eq(route_match("POST", "/api/sandbox/runs", &allow), ROUTE_RUNS_SUBMIT);
	ck_assert_int_eq(route_match("GET", "/api/sandbox/runs?ids=a,b", &allow), ROUTE_RUNS_LIST);
	ck_assert_int_eq(route_match("HEAD", "/api/sandbox/runs", &allow), ROUTE_RUNS_LIST);
	ck_assert_int_eq(route_match("POST", "/api/sandbox/runs/batch", &allow), ROUTE_RUNS_BATCH);
	ck_assert_int_eq(route_match("GET", "/api/sandbox/runs/abc?wait=3", &allow), ROUTE_RUNS_GET);
	ck_assert_int_eq(route_match("DELETE", "/api/sandbox/runs/abc", &allow), ROUTE_RUNS_CANCEL);
	ck_assert_int_eq(route_match("PUT", "/api/sandbox/runs", &allow), ROUTE_BAD_METHOD);
	ck_assert_str_eq(allow, "GET, HEAD, POST");
	ck_assert_int_eq(route_match("GET", "/api/sandbox/runs/batch", &allow), ROUTE_BAD_METHOD);
	ck_assert_str_eq(allow, "POST");
	ck_assert_int_eq(route_match("POST", "/api/sandbox/runs/abc", &allow), ROUTE_BAD_METHOD);
	ck_assert_str_eq(allow, "GET, HEAD, DELETE");
	ck_assert_int_eq(route_match("GET", "/api/sandbox/runs/", &allow), ROUTE_NOT_FOUND);
	ck_assert_int_eq(route_match("GET", "/api/sandbox/runs/a/events", &allow), ROUTE_RUNS_EVENTS);
	ck_assert_int_eq(route_match("HEAD", "/api/sandbox/runs/a/events?offset=3", &allow),
	                 ROUTE_RUNS_EVENTS);
	ck_assert_int_eq(route_match("DELETE", "/api/sandbox/runs/a/events", &allow),
	                 ROUTE_BAD_METHOD);
	ck_assert_str_eq(allow, "GET, HEAD");
	ck_assert_int_eq(route_match("GET", "/api/sandbox/runs//events", &allow), ROUTE_NOT_FOUND);
	ck_assert_int_eq(route_match("GET", "/api/sandbox/runs/a/eventsx", &allow), ROUTE_NOT_FOUND);
	ck_assert_int_eq(route_match("GET", "/api/sandbox/runs/a/b/events", &allow), ROUTE_NOT_FOUND);
	ck_assert_int_eq(route_match("GET", "/api/sandbox/runsx", &allow), ROUTE_NOT_FOUND);
	ck_assert_int_eq(route_run_id("/api/sandbox/runs/abc?wait=1", id, sizeof id), 0);
	ck_assert_str_eq(id, "abc");
	ck_assert_int_eq(route_run_id("/api/sandbox/runs/xyz/events?offset=1", id, sizeof id), 0);
	ck_assert_str_eq(id, "xyz");
	ck_assert_int_eq(route_run_id("/api/sandbox/runs/", id, sizeof id), -1);
	ck_assert_int_eq(route_run_id("/api/sandbox/run/abc", id, sizeof id), -1);
	ck_assert_int_eq(route_run_id("/api/sandbox/runs/abcdef", id, 4), -1);
}
END_TEST

START_TEST(query_values)
{
	char v[16];

	ck_assert_int_eq(http_query_get("wait=5", "wait", v, sizeof v), 1);
	ck_assert_str_eq(v, "5");
	ck_assert_int_eq(http_query_get("x=1&ids=a%2Cb&wait=2", "ids", v, sizeof v), 1);
	ck_assert_str_eq(v, "a,b");
	ck_assert_int_eq(http_query_get("waits=1&wai=2", "wait", v, sizeof v), 0);
	ck_assert_int_eq(http_query_get(NULL, "wait", v, sizeof v), 0);
	ck_assert_int_eq(http_query_get("wait", "wait", v, sizeof v), 1);
	ck_assert_str_eq(v, "");
	ck_assert_int_eq(http_query_get("a=b+c", "a", v, sizeof v), 1);
	ck_assert_str_eq(v, "b c");
	ck_assert_int_eq(http_query_get("a=%zz", "a", v, sizeof v), -1);
	ck_assert_int_eq(http_query_get("a=%4", "a", v, sizeof v), -1);
	ck_assert_int_eq(http_query_get("a=%00", "a", v, sizeof v), -1);
	ck_assert_int_eq(http_query_get("a=0123456789abcdef", "a", v, sizeof v), -1);
}
END_TEST

static Suite *fcgi_suite(void)
{
	Suite *s = suite_create("fcgi");
	TCase *route = tcase_create("route");
	TCase *http = tcase_create("http");

	tcase_add_test(route, route_endpoints);
	tcase_add_test(route, route_bad_method);
	tcase_add_test(route, route_not_found);
	tcase_add_test(route, route_runs);
	tcase_add_test(http, query_values);
	tcase_add_test(route, route_sessions);
	tcase_add_test(route, route_sessions_query_and_405);
	tcase_add_test(http, pct_decode);
	tcase_add_test(http, query_param);
	tcase_add_test(http, type_by_name);
	tcase_add_test(http, length_valid);
	tcase_add_test(http, length_invalid);
	tcase_add_test(http, content_type);
	tcase_add_test(http, accept_ndjson);
	tcase_add_test(http, reqid_validation);
	tcase_add_test(http, reqid_generated);
	tcase_add_test(http, status_texts);
	tcase_add_test(http, queue_age);
	tcase_add_test(http, queue_age_invalid);
	tcase_add_test(http, queue_expired);
	suite_add_tcase(s, route);
	suite_add_tcase(s, http);
	return s;
}

int main(void)
{
	return ck_run(fcgi_suite());
}

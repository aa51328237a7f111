/*
 * check_callback.c - unit tests of src/callback: HMAC-SHA256 against the
 * RFC 4231 vectors, callback_url and allowlist parsing with hostile inputs,
 * the backoff schedule, the on-disk store (format, one callback per run,
 * locking, a broken record set aside) and the reschedule / give-up steps
 * of cb_pump with a loopback address where nothing listens.
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "callback/cb.h"
#include "ck_run.h"

/* --- RFC 4231, HMAC-SHA-256 ------------------------------------------- */

static void hex(const unsigned char *b, size_t n, char *out)
{
	for (size_t i = 0; i < n; i++)
		sprintf(out + 2 * i, "%02x", b[i]);
}

struct vec {
	unsigned char key[131];
	size_t keylen;
	const char *data;
	size_t datalen;
	const char *mac;   /* hex; test case 5 is truncated to 128 bits */
};

START_TEST(hmac_rfc4231)
{
	static struct vec v[7];
	unsigned char mac[32];
	char h[65];
	unsigned char dd[50], cd[50];
	static const char tc7[] = "This is a test using a larger than block-size key and a larger "
	                          "than block-size data. The key needs to be hashed before being "
	                          "used by the HMAC algorithm.";
	static const char tc6[] = "Test Using Larger Than Block-Size Key - Hash Key First";

	memset(dd, 0xdd, sizeof dd);
	memset(cd, 0xcd, sizeof cd);
	memset(v[0].key, 0x0b, v[0].keylen = 20);
	v[0].data = "Hi There";
	v[0].mac = "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7";
	memcpy(v[1].key, "Jefe", v[1].keylen = 4);
	v[1].data = "what do ya want for nothing?";
	v[1].mac = "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843";
	memset(v[2].key, 0xaa, v[2].keylen = 20);
	v[2].data = (const char *)dd;
	v[2].datalen = 50;
	v[2].mac = "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe";
	for (int i = 0; i < 25; i++)
		v[3].key[i] = (unsigned char)(i + 1);
	v[3].keylen = 25;
	v[3].data = (const char *)cd;
	v[3].datalen = 50;
	v[3].mac = "82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b";
	memset(v[4].key, 0x0c, v[4].keylen = 20);
	v[4].data = "Test With Truncation";
	v[4].mac = "a3b6167473100ee06e0c796c2955552b";
	memset(v[5].key, 0xaa, v[5].keylen = 131);
	v[5].data = tc6;
	v[5].mac = "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54";
	memset(v[6].key, 0xaa, v[6].keylen = 131);
	v[6].data = tc7;
	v[6].mac = "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2";
	for (size_t i = 0; i < 7; i++) {
		size_t dl = v[i].datalen ? v[i].datalen : strlen(v[i].data);

		ck_assert_int_eq(cb_hmac_sha256(v[i].key, v[i].keylen,
		                                (const unsigned char *)v[i].data, dl, mac), 0);
		hex(mac, 32, h);
		ck_assert_msg(strncmp(h, v[i].mac, strlen(v[i].mac)) == 0, "test case %zu: %s", i + 1, h);
	}
}
END_TEST

/* The signature is over "TS." followed by the body: the timestamp is signed. */
START_TEST(sign_covers_timestamp_and_body)
{
	const unsigned char key[] = "0123456789abcdef0123";
	const char body[] = "{\"a\":1}";
	unsigned char mac[32];
	char sig[65], sig2[65], want[65];

	ck_assert_int_eq(cb_sign(key, 20, 1700000000, body, strlen(body), sig), 0);
	ck_assert_int_eq(cb_hmac_sha256(key, 20, (const unsigned char *)"1700000000.{\"a\":1}", 18, mac),
	                 0);
	hex(mac, 32, want);
	ck_assert_str_eq(sig, want);
	ck_assert_int_eq(cb_sign(key, 20, 1700000001, body, strlen(body), sig2), 0);
	ck_assert_str_ne(sig, sig2);
	ck_assert_int_eq(cb_sign(key, 20, 1700000000, "{\"a\":2}", 7, sig2), 0);
	ck_assert_str_ne(sig, sig2);
}
END_TEST

/* --- URLs and the allowlist --------------------------------------------- */

static struct cb_config cfg_allow(const char *const *allow)
{
	struct cb_config c;
	char msg[256];

	cb_config_defaults(&c);
	for (; allow && *allow; allow++)
		ck_assert_msg(cb_config_option(&c, "callback-allow", *allow, msg, sizeof msg) == 1,
		              "allow '%s': %s", *allow, msg);
	return c;
}

struct url_case {
	const char *url;
	int ok;
};

static const char *const allow_std[] = {
	"example.com", "hooks.example.com:8443", "127.0.0.1:18080", "[::1]:18080", NULL,
};

static const struct url_case url_cases[] = {
	{ "http://example.com/", 1 },
	{ "https://example.com/cb?id=1&x=%2F", 1 },
	{ "HTTP://EXAMPLE.COM/Path", 1 },                /* scheme and host are case-insensitive */
	{ "http://example.com", 1 },                     /* no path: "/" */
	{ "http://example.com:80/", 1 },
	{ "https://hooks.example.com:8443/h", 1 },
	{ "http://127.0.0.1:18080/h", 1 },
	{ "http://[::1]:18080/h", 1 },
	{ "http://[0:0:0:0:0:0:0:1]:18080/h", 1 },       /* same address, other spelling */
	/* userinfo, in every disguise */
	{ "http://user@example.com/", 0 },
	{ "http://user:pw@example.com/", 0 },
	{ "http://example.com@evil.test/", 0 },
	{ "http://evil.test#@example.com/", 0 },
	{ "http://evil.test\\@example.com/", 0 },
	{ "http://evil.test%40example.com/", 0 },
	/* ports */
	{ "http://example.com:8080/", 0 },               /* not allowed: a bare host is 80/443 */
	{ "http://example.com:443/", 0 },                /* http's default is 80 */
	{ "http://hooks.example.com/", 0 },
	{ "https://hooks.example.com:8444/", 0 },
	{ "http://example.com:0/", 0 },
	{ "http://example.com:65536/", 0 },
	{ "http://example.com:+80/", 0 },
	{ "http://example.com:/", 0 },
	{ "http://example.com:080808/", 0 },
	{ "http://127.0.0.1:018080/", 0 },
	/* numeric hosts another parser reads as 127.0.0.1 */
	{ "http://127.1:18080/", 0 },
	{ "http://2130706433:18080/", 0 },
	{ "http://0x7f.0.0.1:18080/", 0 },
	{ "http://0177.0.0.1:18080/", 0 },
	{ "http://127.000.000.001:18080/", 0 },
	{ "http://127.0.0.1.:18080/", 0 },
	{ "http://[::ffff:127.0.0.1]:18080/", 0 },       /* v4-mapped: not the listed v4 */
	{ "http://[::1%25lo]:18080/", 0 },               /* zone id */
	{ "http://[::1:18080/", 0 },
	{ "http://[example.com]/", 0 },
	/* names */
	{ "http://example.com./", 0 },                   /* trailing dot */
	{ "http://%65xample.com/", 0 },
	{ "http://ex%41mple.com/", 0 },
	{ "http://exa mple.com/", 0 },
	{ "http://ex\xc3\xa4mple.com/", 0 },
	{ "http://xn--exmple-cua.com/", 0 },             /* not on the list */
	{ "http://-example.com/", 0 },
	{ "http://example..com/", 0 },
	{ "http:///path", 0 },
	{ "http://example.com.evil.test/", 0 },
	{ "http://evil.test/?example.com", 0 },
	/* schemes and shapes */
	{ "ftp://example.com/", 0 },
	{ "file:///etc/passwd", 0 },
	{ "gopher://example.com/", 0 },
	{ "//example.com/", 0 },
	{ "http:/example.com/", 0 },
	{ "http:example.com", 0 },
	{ "https//example.com/", 0 },
	{ " http://example.com/", 0 },
	{ "http://example.com/a b", 0 },
	{ "http://example.com/\r\nX-Injected: 1", 0 },
	{ "http://example.com/%zz", 0 },
	{ "http://example.com/#frag", 0 },
	{ "http://example.com?x=1", 0 },
	{ "", 0 },
};

START_TEST(url_check_table)
{
	struct cb_config c = cfg_allow(allow_std);
	char why[256];

	for (size_t i = 0; i < sizeof url_cases / sizeof url_cases[0]; i++) {
		int r = cb_url_check(&c, url_cases[i].url, why, sizeof why);

		ck_assert_msg((r == 0) == url_cases[i].ok, "'%s': got %d (%s)", url_cases[i].url, r,
		              r ? why : "ok");
	}
}
END_TEST

START_TEST(url_overlong)
{
	struct cb_config c = cfg_allow(allow_std);
	char url[4096], why[256];
	char label[80];

	/* the whole URL over 2048 */
	snprintf(url, sizeof url, "http://example.com/");
	memset(url + strlen(url), 'a', 3000);
	url[19 + 3000] = '\0';
	ck_assert_int_eq(cb_url_check(&c, url, why, sizeof why), -1);
	ck_assert_ptr_nonnull(strstr(why, "2048"));
	/* a 64-byte label */
	memset(label, 'a', 64);
	label[64] = '\0';
	snprintf(url, sizeof url, "http://%s.example.com/", label);
	ck_assert_int_eq(cb_url_check(&c, url, why, sizeof why), -1);
	/* a 254-byte name on the list cannot be written */
	ck_assert_int_eq(cb_config_option(&c, "callback-allow",
	                                  "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa."
	                                  "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa."
	                                  "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa."
	                                  "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.a",
	                                  why, sizeof why), -1);
}
END_TEST

START_TEST(callbacks_off_by_default)
{
	struct cb_config c = cfg_allow(NULL);
	char why[256];

	ck_assert_uint_eq(c.nallow, 0);
	ck_assert_int_eq(cb_url_check(&c, "http://127.0.0.1/", why, sizeof why), -1);
	ck_assert_ptr_nonnull(strstr(why, "not enabled"));
}
END_TEST

START_TEST(allow_entries_hostile)
{
	static const char *const bad[] = {
		"", "user@example.com", "example.com:0", "example.com:abc", "[::1", "::1",
		"*.example.com", "example.com.", "http://example.com", "example.com/x",
		"127.1", "example.com:", "[::1]x", "[fe80::1%eth0]", NULL,
	};
	struct cb_allow a;

	for (size_t i = 0; bad[i]; i++)
		ck_assert_msg(cb_allow_parse(bad[i], &a) == -1, "'%s' accepted", bad[i]);
	ck_assert_int_eq(cb_allow_parse("Hooks.Example.COM:8443", &a), 0);
	ck_assert_str_eq(a.host, "hooks.example.com");
	ck_assert_uint_eq(a.port, 8443);
	ck_assert_int_eq(cb_allow_parse("[0::1]", &a), 0);
	ck_assert_str_eq(a.host, "::1");
	ck_assert(a.ipv6);
	ck_assert_uint_eq(a.port, 0);
}
END_TEST

START_TEST(allowlist_is_capped)
{
	struct cb_config c;
	char msg[256];

	cb_config_defaults(&c);
	for (int i = 0; i < CB_ALLOW_MAX; i++)
		ck_assert_int_eq(cb_config_option(&c, "callback-allow", "example.com", msg, sizeof msg), 1);
	ck_assert_int_eq(cb_config_option(&c, "callback-allow", "example.com", msg, sizeof msg), -1);
	ck_assert_ptr_nonnull(strstr(msg, "--callback-allow"));
	ck_assert_int_eq(cb_config_option(&c, "not-ours", "x", msg, sizeof msg), 0);
}
END_TEST

/* --- configuration ------------------------------------------------------ */

static char *tmpdir(void)
{
	char *d = strdup("/tmp/check_callback.XXXXXX");

	ck_assert_ptr_nonnull(d);
	ck_assert_ptr_nonnull(mkdtemp(d));
	return d;
}

static void write_file(const char *path, const char *s, mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, s, strlen(s)), (ssize_t)strlen(s));
	ck_assert_int_eq(fchmod(fd, mode), 0);
	close(fd);
}

START_TEST(secret_file_checked)
{
	char *d = tmpdir();
	char path[256], link[256], msg[512];
	struct cb_config c = cfg_allow(allow_std);

	ck_assert_int_eq(cb_config_finish(&c, true, msg, sizeof msg), -1);   /* none given */
	ck_assert_int_eq(cb_config_finish(&c, false, msg, sizeof msg), 0);   /* responders */
	snprintf(path, sizeof path, "%s/secret", d);
	write_file(path, "0123456789abcdef0123\n", 0644);
	ck_assert_int_eq(cb_config_option(&c, "callback-secret-file", path, msg, sizeof msg), 1);
	ck_assert_int_eq(cb_config_finish(&c, true, msg, sizeof msg), -1);   /* readable by others */
	ck_assert_ptr_nonnull(strstr(msg, "chmod 600"));
	write_file(path, "short\n", 0600);
	ck_assert_int_eq(cb_config_finish(&c, true, msg, sizeof msg), -1);
	write_file(path, "0123456789abcdef0123\n", 0600);
	ck_assert_int_eq(cb_config_finish(&c, true, msg, sizeof msg), 0);
	ck_assert_uint_eq(c.secret_len, 20);                                 /* newline dropped */
	ck_assert_int_eq(memcmp(c.secret, "0123456789abcdef0123", 20), 0);
	snprintf(link, sizeof link, "%s/link", d);
	ck_assert_int_eq(symlink(path, link), 0);
	c.secret_file = link;
	ck_assert_int_eq(cb_config_finish(&c, true, msg, sizeof msg), -1);   /* a symlink */
	ck_assert_int_eq(cb_config_option(&c, "callback-secret-file", "relative", msg, sizeof msg), -1);
	unlink(link);
	unlink(path);
	rmdir(d);
	free(d);
}
END_TEST

START_TEST(backoff_schedule)
{
	struct cb_config c;
	static const uint64_t want[] = { 1, 2, 4, 8, 16, 32, 64, 128, 256, 300, 300 };

	cb_config_defaults(&c);
	for (unsigned i = 0; i < sizeof want / sizeof want[0]; i++)
		ck_assert_uint_eq(cb_backoff_s(&c, i + 1), want[i]);
	ck_assert_uint_eq(cb_backoff_s(&c, 100000), 300);
	c.backoff_base_s = 5;
	c.backoff_max_s = 86400;
	ck_assert_uint_eq(cb_backoff_s(&c, 3), 20);
	ck_assert_uint_eq(cb_backoff_s(&c, 4000000000u), 86400);   /* no overflow */
}
END_TEST

/* --- the store ---------------------------------------------------------- */

static json_t *load_record(const char *dir, const char *id)
{
	char path[512];

	snprintf(path, sizeof path, "%s/callbacks/%s.json", dir, id);
	return json_load_file(path, JSON_REJECT_DUPLICATES, NULL);
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	return flag == FTW_DP ? rmdir(path) : unlink(path);
}

/* The test's own mkdtemp directory, depth first, links not followed. */
static void rm_store(char *d)
{
	ck_assert_int_eq(nftw(d, rm_one, 8, FTW_DEPTH | FTW_PHYS), 0);
	free(d);
}

START_TEST(store_format_and_once_per_run)
{
	char *d = tmpdir();
	struct cb_store s;
	struct cb_error e;
	const char body[] = "{\"id\":\"r-1\",\"stdout\":\"\\u00e9\"}";
	char path[512];
	struct stat st;
	json_t *o;

	ck_assert_int_eq(cb_store_open(d, &s, &e), 0);
	ck_assert_int_eq(cb_enqueue(&s, "run_1-A", "http://127.0.0.1:9/x", body, strlen(body), 1000,
	                            &e), 0);
	snprintf(path, sizeof path, "%s/callbacks/run_1-A.json", d);
	ck_assert_int_eq(stat(path, &st), 0);
	ck_assert_uint_eq(st.st_mode & 0777, 0600);
	o = load_record(d, "run_1-A");
	ck_assert_ptr_nonnull(o);
	ck_assert_int_eq(json_integer_value(json_object_get(o, "version")), 1);
	ck_assert_str_eq(json_string_value(json_object_get(o, "run_id")), "run_1-A");
	ck_assert_str_eq(json_string_value(json_object_get(o, "url")), "http://127.0.0.1:9/x");
	ck_assert_str_eq(json_string_value(json_object_get(o, "body")), body);
	ck_assert_int_eq(json_integer_value(json_object_get(o, "attempts")), 0);
	ck_assert_int_eq(json_integer_value(json_object_get(o, "next_at")), 1000);
	ck_assert_int_eq(json_integer_value(json_object_get(o, "created_at")), 1000);
	json_decref(o);
	/* one callback per run: the first is kept */
	ck_assert_int_eq(cb_enqueue(&s, "run_1-A", "http://127.0.0.1:9/y", "{}", 2, 1001, &e), -1);
	ck_assert_int_eq(e.err, EEXIST);
	/* ids that would be paths, and bad URLs, never reach the disk */
	ck_assert_int_eq(cb_enqueue(&s, "../x", "http://127.0.0.1:9/", "{}", 2, 1, &e), -1);
	ck_assert_int_eq(cb_enqueue(&s, "a/b", "http://127.0.0.1:9/", "{}", 2, 1, &e), -1);
	ck_assert_int_eq(cb_enqueue(&s, "", "http://127.0.0.1:9/", "{}", 2, 1, &e), -1);
	ck_assert_int_eq(cb_enqueue(&s, "ok", "http://u@127.0.0.1:9/", "{}", 2, 1, &e), -1);
	ck_assert_int_eq(cb_enqueue(&s, "ok", "http://127.0.0.1:9/", "\xff", 1, 1, &e), -1);
	snprintf(path, sizeof path, "%s/callbacks/ok.json", d);
	ck_assert_int_eq(access(path, F_OK), -1);
	cb_store_close(&s);
	rm_store(d);
}
END_TEST

static struct cb_config cfg_loopback(void)
{
	static const char *const allow[] = { "127.0.0.1:9", NULL };
	struct cb_config c = cfg_allow(allow);

	memcpy(c.secret, "0123456789abcdef", 16);
	c.secret_len = 16;
	c.connect_timeout_ms = 1000;
	c.timeout_ms = 2000;
	return c;
}

/* 127.0.0.1:9 (discard) has no listener here: each attempt fails at once
 * with "connection refused", the record gets its next attempt time, and
 * after max_attempts it is given up and removed. */
START_TEST(pump_reschedules_then_gives_up)
{
	char *d = tmpdir();
	struct cb_store s;
	struct cb_error e;
	struct cb_config c = cfg_loopback();
	unsigned delivered = 99;
	char path[512];
	struct stat st;
	json_t *o;

	c.max_attempts = 2;
	ck_assert_int_eq(cb_global_init(), 0);
	ck_assert_int_eq(cb_store_open(d, &s, &e), 0);
	ck_assert_int_eq(cb_enqueue(&s, "r1", "http://127.0.0.1:9/", "{}", 2, 1000, &e), 0);
	ck_assert_int_eq(cb_pump(&s, &c, 1000, 10, &delivered, &e), 0);
	ck_assert_uint_eq(delivered, 0);
	o = load_record(d, "r1");
	ck_assert_ptr_nonnull(o);
	ck_assert_int_eq(json_integer_value(json_object_get(o, "attempts")), 1);
	ck_assert_int_eq(json_integer_value(json_object_get(o, "next_at")), 1001);
	json_decref(o);
	/* the file's mtime is its next attempt time: a pass skips it unread */
	snprintf(path, sizeof path, "%s/callbacks/r1.json", d);
	ck_assert_int_eq(stat(path, &st), 0);
	ck_assert_int_eq((int64_t)st.st_mtime, 1001);
	ck_assert_int_eq(cb_next_due(&s, 1000), 1);
	/* not due yet: untouched */
	ck_assert_int_eq(cb_pump(&s, &c, 1000, 10, &delivered, &e), 0);
	o = load_record(d, "r1");
	ck_assert_int_eq(json_integer_value(json_object_get(o, "attempts")), 1);
	json_decref(o);
	/* second failure = max_attempts: given up */
	ck_assert_int_eq(cb_pump(&s, &c, 1001, 10, &delivered, &e), 0);
	ck_assert_ptr_null(load_record(d, "r1"));
	ck_assert_int_eq(cb_next_due(&s, 1001), -1);
	cb_store_close(&s);
	cb_global_cleanup();
	rm_store(d);
}
END_TEST

/* A host taken off the allowlist after submission is not connected to;
 * the attempt counts as failed. Too old: given up without an attempt more. */
START_TEST(pump_rechecks_allowlist_and_age)
{
	char *d = tmpdir();
	struct cb_store s;
	struct cb_error e;
	struct cb_config c = cfg_loopback();
	unsigned delivered;
	json_t *o;

	c.max_age_s = 3;
	ck_assert_int_eq(cb_global_init(), 0);
	ck_assert_int_eq(cb_store_open(d, &s, &e), 0);
	ck_assert_int_eq(cb_enqueue(&s, "r2", "http://127.0.0.2:9/", "{}", 2, 1000, &e), 0);
	ck_assert_int_eq(cb_pump(&s, &c, 1000, 10, &delivered, &e), 0);
	o = load_record(d, "r2");
	ck_assert_ptr_nonnull(o);
	ck_assert_int_eq(json_integer_value(json_object_get(o, "attempts")), 1);
	ck_assert_int_eq(json_integer_value(json_object_get(o, "last_status")), 0);
	json_decref(o);
	ck_assert_int_eq(cb_pump(&s, &c, 1001, 10, &delivered, &e), 0);   /* next at 1003 */
	ck_assert_ptr_nonnull(o = load_record(d, "r2"));
	json_decref(o);
	ck_assert_int_eq(cb_pump(&s, &c, 1003, 10, &delivered, &e), 0);   /* next 1007 > age */
	ck_assert_ptr_null(load_record(d, "r2"));
	cb_store_close(&s);
	cb_global_cleanup();
	rm_store(d);
}
END_TEST

/* One deliverer per callback: a record someone holds (flock) is skipped. */
START_TEST(pump_skips_locked_record)
{
	char *d = tmpdir();
	struct cb_store s;
	struct cb_error e;
	struct cb_config c = cfg_loopback();
	unsigned delivered;
	char path[512];
	json_t *o;
	int fd;

	ck_assert_int_eq(cb_global_init(), 0);
	ck_assert_int_eq(cb_store_open(d, &s, &e), 0);
	ck_assert_int_eq(cb_enqueue(&s, "r3", "http://127.0.0.1:9/", "{}", 2, 1000, &e), 0);
	snprintf(path, sizeof path, "%s/callbacks/r3.json", d);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(flock(fd, LOCK_EX), 0);
	ck_assert_int_eq(cb_pump(&s, &c, 1000, 10, &delivered, &e), 0);
	o = load_record(d, "r3");
	ck_assert_int_eq(json_integer_value(json_object_get(o, "attempts")), 0);
	json_decref(o);
	close(fd);
	ck_assert_int_eq(cb_pump(&s, &c, 1000, 10, &delivered, &e), 0);
	o = load_record(d, "r3");
	ck_assert_int_eq(json_integer_value(json_object_get(o, "attempts")), 1);
	json_decref(o);
	cb_store_close(&s);
	cb_global_cleanup();
	rm_store(d);
}
END_TEST

/* A record that does not parse is set aside once, not retried forever;
 * names that are not records are left alone. */
START_TEST(pump_sets_aside_broken_record)
{
	char *d = tmpdir();
	struct cb_store s;
	struct cb_error e;
	struct cb_config c = cfg_loopback();
	unsigned delivered;
	char path[512];

	ck_assert_int_eq(cb_store_open(d, &s, &e), 0);
	snprintf(path, sizeof path, "%s/callbacks/bad.json", d);
	write_file(path, "{\"version\":1,", 0600);
	snprintf(path, sizeof path, "%s/callbacks/not a record.json", d);
	write_file(path, "x", 0600);
	/* due by its mtime (now): written just above */
	ck_assert_int_eq(cb_pump(&s, &c, (int64_t)time(NULL) + 5, 10, &delivered, &e), 0);
	snprintf(path, sizeof path, "%s/callbacks/bad.json.bad", d);
	ck_assert_int_eq(access(path, F_OK), 0);
	snprintf(path, sizeof path, "%s/callbacks/not a record.json", d);
	ck_assert_int_eq(access(path, F_OK), 0);
	cb_store_close(&s);
	rm_store(d);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("callback");
	TCase *t = tcase_create("callback");

	tcase_set_timeout(t, 30);
	tcase_add_test(t, hmac_rfc4231);
	tcase_add_test(t, sign_covers_timestamp_and_body);
	tcase_add_test(t, url_check_table);
	tcase_add_test(t, url_overlong);
	tcase_add_test(t, callbacks_off_by_default);
	tcase_add_test(t, allow_entries_hostile);
	tcase_add_test(t, allowlist_is_capped);
	tcase_add_test(t, secret_file_checked);
	tcase_add_test(t, backoff_schedule);
	tcase_add_test(t, store_format_and_once_per_run);
	tcase_add_test(t, pump_reschedules_then_gives_up);
	tcase_add_test(t, pump_rechecks_allowlist_and_age);
	tcase_add_test(t, pump_skips_locked_record);
	tcase_add_test(t, pump_sets_aside_broken_record);
	suite_add_tcase(s, t);
	return s;
}

int main(void)
{
	return ck_run(suite());
}

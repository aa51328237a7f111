/*
 * check_cfg.c - unit tests of sandbox-fcgi's command line (src/fcgi/cfg.c,
 * pure code): defaults, --help/--version, one-line usage errors that name
 * the option, and a --help text that lists every option with its default.
 */
#include <check.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fcgi/cfg.h"
#include "ck_run.h"

static enum cfg_result parse(struct fcgi_cfg *c, char *msg, size_t len, ...)
{
	char *argv[16] = { "sandbox-fcgi" };
	int argc = 1;
	va_list ap;
	char *a;

	va_start(ap, len);
	while ((a = va_arg(ap, char *)) != NULL && argc < 15)
		argv[argc++] = a;
	va_end(ap);
	fcgi_cfg_defaults(c);
	msg[0] = '\0';
	return fcgi_cfg_parse(c, argc, argv, msg, len);
}

/* What fn wrote to a FILE, as a malloc'd string. */
static char *capture(void (*fn)(FILE *))
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	ck_assert_ptr_nonnull(f);
	fn(f);
	ck_assert_int_eq(fclose(f), 0);
	return buf;
}

START_TEST(defaults_are_configured)
{
	struct fcgi_cfg c;
	char msg[256];

	ck_assert_int_eq(parse(&c, msg, sizeof msg, NULL), CFG_OK);
	/* The RootFS base is configure's (--with-rootfs-base), not a literal. */
	ck_assert_str_eq(c.rootfs_base, SANDBOX_ROOTFS_BASE);
	ck_assert_str_eq(c.template_name, "minimal");
	ck_assert_ptr_null(c.socket);
	ck_assert_uint_eq(c.queue_timeout_ms, 10000);
	ck_assert_uint_ge(c.pool_size, 1);
}
END_TEST

START_TEST(help_and_version)
{
	struct fcgi_cfg c;
	char msg[256];

	ck_assert_int_eq(parse(&c, msg, sizeof msg, "--help", NULL), CFG_HELP);
	ck_assert_int_eq(parse(&c, msg, sizeof msg, "-h", NULL), CFG_HELP);
	ck_assert_int_eq(parse(&c, msg, sizeof msg, "--version", NULL), CFG_VERSION);
	/* The first of them wins over a later bad option: no error printed. */
	ck_assert_int_eq(parse(&c, msg, sizeof msg, "--version", "--bogus", NULL), CFG_VERSION);
}
END_TEST

START_TEST(version_text)
{
	char *v = capture(fcgi_cfg_version);

	ck_assert_str_eq(v, "sandbox-fcgi " PACKAGE_VERSION "\n");
	free(v);
}
END_TEST

/* Each bad command line: CFG_ERROR and one line that names the culprit. */
START_TEST(errors_name_the_option)
{
	static const char *const cases[][3] = {
		{ "--bogus", NULL, "'--bogus'" },
		{ "--pool-size", "0", "'--pool-size'" },
		{ "--pool-size", "4097", "'4097'" },
		{ "--pool-size", "two", "'two'" },
		{ "--backlog", "-1", "'--backlog'" },
		{ "--max-memory-mb", "12x", "'12x'" },
		{ "--queue-timeout-ms", "", "'--queue-timeout-ms'" },
		{ "--warm-runtime", "", "'--warm-runtime'" },
		{ "--warm-fork", "yes", "'--warm-fork'" },
		{ "--cpu-affinity", "0", "'--cpu-affinity'" },
		{ "--default-wall-time-ms", "999999999", "wall-time-ms" },
		{ "stray", NULL, "'stray'" },
		{ "--state-dir", "relative/dir", "'--state-dir'" },
		{ "--async-slots", "5000", "--async-slots" },
		{ "--max-batch-runs", "0", "--max-batch-runs" },
		{ "--async-max-wall-time-ms", "0", "--async-max-wall-time-ms" },
		{ "--callback-allow", "user@example.com", "'--callback-allow'" },
		{ "--callback-allow", "127.1", "'127.1'" },
		{ "--callback-max-attempts", "0", "'--callback-max-attempts'" },
		{ "--callback-timeout-ms", "10", "'--callback-timeout-ms'" },
		{ "--callback-secret-file", "relative", "'--callback-secret-file'" },
	};
	struct fcgi_cfg c;
	char msg[256];
	size_t i;

	for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		enum cfg_result r = parse(&c, msg, sizeof msg, cases[i][0], cases[i][1], NULL);

		ck_assert_msg(r == CFG_ERROR, "case %zu (%s) not refused", i, cases[i][0]);
		ck_assert_msg(strstr(msg, cases[i][2]) != NULL, "case %zu: '%s' lacks %s", i, msg,
		              cases[i][2]);
		ck_assert_ptr_null(strchr(msg, '\n'));
	}
	/* A missing value at the end of argv. */
	ck_assert_int_eq(parse(&c, msg, sizeof msg, "--template", NULL), CFG_ERROR);
	ck_assert_ptr_nonnull(strstr(msg, "--template"));
}
END_TEST

START_TEST(values_are_applied)
{
	struct fcgi_cfg c;
	char msg[256];

	ck_assert_int_eq(parse(&c, msg, sizeof msg, "--rootfs-base", "/srv/r", "--template", "t1",
	                       "--pool-size", "7", "--max-wall-time-ms", "50000",
	                       "--max-body-bytes", "1024", "--allow-degraded-limits",
	                       "--warm-runtime", "none", NULL),
	                 CFG_OK);
	ck_assert_str_eq(c.warm_runtime, "none");
	ck_assert(c.warm_fork);              /* the default */
	ck_assert_int_eq(parse(&c, msg, sizeof msg, "--warm-fork", "off", NULL), CFG_OK);
	ck_assert(!c.warm_fork);
	ck_assert_int_eq(parse(&c, msg, sizeof msg, "--warm-fork", "on", NULL), CFG_OK);
	ck_assert(c.warm_fork);
	ck_assert(c.cpu_home);               /* the default: auto */
	ck_assert_int_eq(parse(&c, msg, sizeof msg, "--cpu-affinity", "off", NULL), CFG_OK);
	ck_assert(!c.cpu_home);
	ck_assert_int_eq(parse(&c, msg, sizeof msg, "--cpu-affinity", "auto", NULL), CFG_OK);
	ck_assert(c.cpu_home);
	ck_assert_int_eq(parse(&c, msg, sizeof msg, "--rootfs-base", "/srv/r", "--template", "t1",
	                       "--pool-size", "7", "--max-wall-time-ms", "50000",
	                       "--max-body-bytes", "1024", "--allow-degraded-limits",
	                       "--warm-runtime", "none", NULL),
	                 CFG_OK);
	ck_assert_str_eq(c.rootfs_base, "/srv/r");
	ck_assert_str_eq(c.req.default_template, "t1");
	ck_assert_uint_eq(c.pool_size, 7);
	ck_assert_uint_eq(c.req.wall_time_ms.max, 50000);
	ck_assert_uint_eq(c.req.max_body_bytes, 1024);
	ck_assert(c.allow_degraded_limits);
	ck_assert_int_eq(parse(&c, msg, sizeof msg, "--state-dir", "/srv/state", "--pool-size", "4",
	                       "--async-slots", "3", "--async-max-wall-time-ms", "600000",
	                       "--async-retention-s", "60", "--max-wait-s", "5",
	                       "--max-batch-runs", "10", NULL),
	                 CFG_OK);
	ck_assert_str_eq(c.state_dir, "/srv/state");
	ck_assert_uint_eq(c.async_slots, 3);
	ck_assert_uint_eq(c.async_max_wall_ms, 600000);
	ck_assert_uint_eq(c.async_retention_s, 60);
	ck_assert_uint_eq(c.max_wait_s, 5);
	ck_assert_uint_eq(c.max_batch_runs, 10);
}
END_TEST

/* Callbacks are off unless the operator lists hosts; the responder takes
 * the deliverer's flags but needs (and reads) no secret. */
START_TEST(callback_flags)
{
	struct fcgi_cfg c;
	char msg[256], why[256];

	ck_assert_int_eq(parse(&c, msg, sizeof msg, NULL), CFG_OK);
	ck_assert_uint_eq(c.cb.nallow, 0);
	ck_assert_int_eq(cb_url_check(&c.cb, "http://127.0.0.1/", why, sizeof why), -1);
	ck_assert_int_eq(parse(&c, msg, sizeof msg, "--callback-allow", "hooks.example.com:8443",
	                       "--callback-allow", "[::1]", "--callback-max-attempts", "3",
	                       "--callback-secret-file", "/nonexistent/secret", NULL),
	                 CFG_OK);
	ck_assert_uint_eq(c.cb.nallow, 2);
	ck_assert_uint_eq(c.cb.max_attempts, 3);
	ck_assert_uint_eq(c.cb.secret_len, 0);
	ck_assert_int_eq(cb_url_check(&c.cb, "https://hooks.example.com:8443/x", why, sizeof why), 0);
	ck_assert_int_eq(cb_url_check(&c.cb, "http://[::1]/x", why, sizeof why), 0);
	ck_assert_int_eq(cb_url_check(&c.cb, "http://[::1]:8080/x", why, sizeof why), -1);
}
END_TEST

START_TEST(usage_error_is_one_line)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	ck_assert_ptr_nonnull(f);
	fcgi_cfg_usage_error(f, "unknown option or missing value: '--x'");
	fclose(f);
	ck_assert_str_eq(buf, "sandbox-fcgi: unknown option or missing value: '--x' "
	                      "(try 'sandbox-fcgi --help')\n");
	free(buf);
}
END_TEST

/* Every option parse accepts is in --help, each with its default. */
START_TEST(help_lists_every_option)
{
	static const char *const opts[] = {
		"--socket", "--backlog", "--rootfs-base", "--template", "--cgroup",
		"--allow-degraded-limits", "--require-cgroup", "--pool-size", "--help", "--version",
		"--warm-runtime", "--warm-fork", "--cpu-affinity",
		"--max-body-bytes N", "--max-code-bytes N", "--max-files N", "--max-file-bytes N",
		"--max-files-total-bytes N", "--max-stdin-bytes N", "--max-output-files N",
		"--max-output-file-bytes N", "--max-output-total-bytes N", "--default-wall-time-ms N",
		"--max-wall-time-ms N", "--default-cpu-time-ms N", "--max-cpu-time-ms N",
		"--default-memory-mb N", "--max-memory-mb N", "--default-max-processes N",
		"--max-max-processes N", "--default-max-output-bytes N", "--max-max-output-bytes N",
		"--work-mb N", "--tmp-mb N", "--queue-timeout-ms N",
		"--callback-allow HOST[:PORT]", "--callback-secret-file PATH",
		"--callback-max-attempts N", "--callback-max-age-s N", "--callback-backoff-s N",
		"--callback-backoff-max-s N", "--callback-connect-timeout-ms N",
		"--callback-timeout-ms N", "--callback-proxy URL", "--callback-ca-file PATH",
	};
	char *h = capture(fcgi_cfg_help);
	size_t i;

	for (i = 0; i < sizeof opts / sizeof opts[0]; i++)
		ck_assert_msg(strstr(h, opts[i]) != NULL, "--help lacks %s", opts[i]);
	ck_assert_ptr_nonnull(strstr(h, "(default " SANDBOX_ROOTFS_BASE ")\n"));
	ck_assert_ptr_nonnull(strstr(h, "--queue-timeout-ms N"));
	ck_assert_ptr_nonnull(strstr(h, "(default 10000)"));
	ck_assert_ptr_nonnull(strstr(h, "largest request body (default 25165824)\n"));
	free(h);
}
END_TEST

static Suite *cfg_suite(void)
{
	Suite *s = suite_create("cfg");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, defaults_are_configured);
	tcase_add_test(tc, help_and_version);
	tcase_add_test(tc, version_text);
	tcase_add_test(tc, errors_name_the_option);
	tcase_add_test(tc, values_are_applied);
	tcase_add_test(tc, callback_flags);
	tcase_add_test(tc, usage_error_is_one_line);
	tcase_add_test(tc, help_lists_every_option);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return ck_run(cfg_suite());
}

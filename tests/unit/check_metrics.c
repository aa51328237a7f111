/*
 * check_metrics.c - unit tests of src/fcgi/metrics.c: histogram buckets,
 * the store's header, series claimed once per label set and the overflow
 * into "other", busy flags of dead responders, and the exact Prometheus
 * text (label escaping, cumulative buckets, seconds).
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fcgi/metrics.h"
#include "ck_run.h"

static struct met_store *store_new(void)
{
	struct met_store *m = calloc(1, sizeof *m);

	ck_assert_ptr_nonnull(m);
	met_store_init(m);
	return m;
}

static pid_t dead_pid = 4242;

static bool stub_alive(pid_t pid)
{
	return pid != dead_pid;
}

/* Renders into a string the caller frees. */
static char *render(const struct met_store *m, const struct met_view *v)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);

	ck_assert_ptr_nonnull(f);
	ck_assert_int_eq(met_render(f, m, v), 0);
	ck_assert_int_eq(fclose(f), 0);
	return text;
}

static const struct met_view view0 = { .pool_size = 2, .shared = true, .alive = stub_alive };

static void assert_has(const char *text, const char *line)
{
	ck_assert_msg(strstr(text, line) != NULL, "missing '%s' in:\n%s", line, text);
}

START_TEST(bucket_bounds)
{
	ck_assert_uint_eq(met_bucket_index(0), 0);
	ck_assert_uint_eq(met_bucket_index(5), 0);      /* le is inclusive */
	ck_assert_uint_eq(met_bucket_index(6), 1);
	ck_assert_uint_eq(met_bucket_index(1000), 7);
	ck_assert_uint_eq(met_bucket_index(1001), 8);
	ck_assert_uint_eq(met_bucket_index(120000), MET_NBUCKETS - 2);
	ck_assert_uint_eq(met_bucket_index(120001), MET_NBUCKETS - 1);
	ck_assert_uint_eq(met_bucket_index(UINT64_MAX), MET_NBUCKETS - 1);
	for (unsigned i = 1; i < MET_NBUCKETS - 1; i++)
		ck_assert(met_bucket_ms[i] > met_bucket_ms[i - 1]);
}
END_TEST

START_TEST(header_validity)
{
	struct met_store *m = store_new();

	ck_assert(met_store_valid(m));
	m->version++;
	ck_assert(!met_store_valid(m));
	m->version--;
	m->nseries--;
	ck_assert(!met_store_valid(m));
	memset(m, 0, sizeof *m);
	ck_assert(!met_store_valid(m));
	free(m);
}
END_TEST

/* The same labels land in one series; the histogram is cumulative in the
 * text, its sum in seconds. */
START_TEST(runs_and_histogram_text)
{
	struct met_store *m = store_new();
	char *t;

	met_run(m, "python", "minimal", "success", 3);
	met_run(m, "python", "minimal", "success", 40);
	met_run(m, "python", "minimal", "success", 2000);
	met_run(m, "bash", "minimal", "timeout", 300);
	t = render(m, &view0);
	assert_has(t, "# TYPE sandbox_runs_total counter\n");
	assert_has(t, "sandbox_runs_total{runtime=\"python\",template=\"minimal\",status=\"success\"} 3\n");
	assert_has(t, "sandbox_runs_total{runtime=\"bash\",template=\"minimal\",status=\"timeout\"} 1\n");
	assert_has(t, "# TYPE sandbox_run_duration_seconds histogram\n");
	assert_has(t, "sandbox_run_duration_seconds_bucket{runtime=\"python\",template=\"minimal\","
	           "status=\"success\",le=\"0.005\"} 1\n");
	assert_has(t, "sandbox_run_duration_seconds_bucket{runtime=\"python\",template=\"minimal\","
	           "status=\"success\",le=\"0.05\"} 2\n");
	assert_has(t, "sandbox_run_duration_seconds_bucket{runtime=\"python\",template=\"minimal\","
	           "status=\"success\",le=\"2.5\"} 3\n");
	assert_has(t, "sandbox_run_duration_seconds_bucket{runtime=\"python\",template=\"minimal\","
	           "status=\"success\",le=\"+Inf\"} 3\n");
	assert_has(t, "sandbox_run_duration_seconds_sum{runtime=\"python\",template=\"minimal\","
	           "status=\"success\"} 2.043\n");
	assert_has(t, "sandbox_run_duration_seconds_count{runtime=\"python\",template=\"minimal\","
	           "status=\"success\"} 3\n");
	/* no other run series */
	ck_assert_ptr_null(strstr(t, "status=\"error\""));
	free(t);
	free(m);
}
END_TEST

START_TEST(refused_failures_queue_text)
{
	struct met_store *m = store_new();
	char *t;

	met_refused(m, 400, "invalid_request");
	met_refused(m, 400, "invalid_request");
	met_refused(m, 503, "overloaded");
	met_setup_failure(m, "mount rootfs");
	met_queue_wait(m, 0);
	met_queue_wait(m, 15000);
	t = render(m, &view0);
	assert_has(t, "sandbox_requests_refused_total{code=\"400\",reason=\"invalid_request\"} 2\n");
	assert_has(t, "sandbox_requests_refused_total{code=\"503\",reason=\"overloaded\"} 1\n");
	assert_has(t, "sandbox_jail_setup_failures_total{step=\"mount rootfs\"} 1\n");
	assert_has(t, "sandbox_queue_wait_seconds_bucket{le=\"10\"} 1\n");
	assert_has(t, "sandbox_queue_wait_seconds_bucket{le=\"30\"} 2\n");
	assert_has(t, "sandbox_queue_wait_seconds_sum 15.000\n");
	assert_has(t, "sandbox_queue_wait_seconds_count 2\n");
	free(t);
	free(m);
}
END_TEST

/* Busy flags of live responders only; the pool size is the flag's. */
START_TEST(pool_and_busy)
{
	struct met_store *m = store_new();
	char *t;

	atomic_store(&m->slots[0].pid, 100);
	atomic_store(&m->slots[0].busy, 1);
	atomic_store(&m->slots[3].pid, 101);
	atomic_store(&m->slots[7].pid, dead_pid);     /* died in a request */
	atomic_store(&m->slots[7].busy, 1);
	t = render(m, &view0);
	assert_has(t, "\nsandbox_pool_size 2\n");
	assert_has(t, "\nsandbox_responders 2\n");
	assert_has(t, "\nsandbox_responders_busy 1\n");
	assert_has(t, "\nsandbox_metrics_shared 1\n");
	free(t);
	free(m);
}
END_TEST

START_TEST(label_escaping_and_templates)
{
	struct met_store *m = store_new();
	const struct met_template_info ti[] = {
		{ "minimal", "20261201-1", "sha256:ab" },
		{ "we\"ird", "v\\1\n", "" },
	};
	struct met_view v = view0;
	char *t;

	v.templates = ti;
	v.ntemplates = 2;
	met_setup_failure(m, "a\"b\\c\nd");
	t = render(m, &v);
	assert_has(t, "sandbox_jail_setup_failures_total{step=\"a\\\"b\\\\c\\nd\"} 1\n");
	assert_has(t, "sandbox_rootfs_template_info{template=\"minimal\",version=\"20261201-1\","
	           "manifest=\"sha256:ab\"} 1\n");
	assert_has(t, "sandbox_rootfs_template_info{template=\"we\\\"ird\",version=\"v\\\\1\\n\","
	           "manifest=\"\"} 1\n");
	free(t);
	free(m);
}
END_TEST

/* A full table never grows: the rest is counted as "other". */
START_TEST(overflow_goes_to_other)
{
	struct met_store *m = store_new();
	char name[32];
	char *t;

	for (int i = 0; i < MET_SERIES + 5; i++) {
		snprintf(name, sizeof name, "step%d", i);
		met_setup_failure(m, name);
	}
	met_setup_failure(m, "step0");      /* an existing one still counts */
	t = render(m, &view0);
	assert_has(t, "sandbox_jail_setup_failures_total{step=\"step0\"} 2\n");
	assert_has(t, "sandbox_jail_setup_failures_total{step=\"other\"} 5\n");
	snprintf(name, sizeof name, "{step=\"step%d\"}", MET_SERIES);
	ck_assert_ptr_null(strstr(t, name));
	/* other kinds have no room left either, and go to their own "other" */
	met_refused(m, 400, "invalid_request");
	free(t);
	t = render(m, &view0);
	assert_has(t, "sandbox_requests_refused_total{code=\"other\",reason=\"other\"} 1\n");
	free(t);
	free(m);
}
END_TEST

/* Long labels are cut, never overflow the fixed-size store. */
START_TEST(long_labels_truncated)
{
	struct met_store *m = store_new();
	char big[300];
	char *t;

	memset(big, 'x', sizeof big - 1);
	big[sizeof big - 1] = '\0';
	met_run(m, big, "minimal", "success", 1);
	met_run(m, big, "minimal", "success", 1);
	t = render(m, &view0);
	big[MET_LABEL - 1] = '\0';
	ck_assert_ptr_nonnull(strstr(t, big));
	big[MET_LABEL - 1] = 'x';
	big[MET_LABEL] = '\0';
	ck_assert_ptr_null(strstr(t, big));
	free(t);
	free(m);
}
END_TEST

/* A NULL store (no metrics at all) records nothing and does not crash. */
START_TEST(null_store_is_a_noop)
{
	met_run(NULL, "python", "minimal", "success", 1);
	met_refused(NULL, 400, "x");
	met_setup_failure(NULL, "x");
	met_queue_wait(NULL, 1);
}
END_TEST

static Suite *metrics_suite(void)
{
	Suite *s = suite_create("metrics");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, bucket_bounds);
	tcase_add_test(tc, header_validity);
	tcase_add_test(tc, runs_and_histogram_text);
	tcase_add_test(tc, refused_failures_queue_text);
	tcase_add_test(tc, pool_and_busy);
	tcase_add_test(tc, label_escaping_and_templates);
	tcase_add_test(tc, overflow_goes_to_other);
	tcase_add_test(tc, long_labels_truncated);
	tcase_add_test(tc, null_store_is_a_noop);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return ck_run(metrics_suite());
}

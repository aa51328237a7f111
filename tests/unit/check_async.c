/* check_async.c - src/async: ids, keys, the state file, and the store's
 * queue on a temporary directory (order, one claim per run, cancel of a
 * queued and of a claimed run, the sweep's retention and recovery). */
#include <check.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "async/async.h"
#include "ck_run.h"

START_TEST(ids)
{
	char id[33], big[AQ_ID_MAX + 2];

	ck_assert(aq_id_valid("a"));
	ck_assert(aq_id_valid("job-1_B"));
	ck_assert(!aq_id_valid(""));
	ck_assert(!aq_id_valid(NULL));
	ck_assert(!aq_id_valid("."));
	ck_assert(!aq_id_valid(".."));
	ck_assert(!aq_id_valid("a.b"));
	ck_assert(!aq_id_valid("a/b"));
	ck_assert(!aq_id_valid("a b"));
	ck_assert(!aq_id_valid("queue"));
	ck_assert(!aq_id_valid("running"));
	ck_assert(!aq_id_valid("slots"));
	memset(big, 'x', AQ_ID_MAX);
	big[AQ_ID_MAX] = '\0';
	ck_assert(aq_id_valid(big));
	big[AQ_ID_MAX] = 'x';
	big[AQ_ID_MAX + 1] = '\0';
	ck_assert(!aq_id_valid(big));
	ck_assert_int_eq(aq_id_new(id), 0);
	ck_assert_uint_eq(strlen(id), 32);
	ck_assert(aq_id_valid(id));
}
END_TEST

START_TEST(keys_order)
{
	char a[AQ_KEY_MAX + 1], b[AQ_KEY_MAX + 1], c[AQ_KEY_MAX + 1];
	char *v[3];

	ck_assert_int_eq(aq_key_make(9, "zzz", a, sizeof a), 0);
	ck_assert_int_eq(aq_key_make(10, "aaa", b, sizeof b), 0);
	ck_assert_int_eq(aq_key_make(1700000000000000000ull, "m", c, sizeof c), 0);
	ck_assert_str_eq(aq_key_id(a), "zzz");
	ck_assert_ptr_null(aq_key_id("123-abc"));
	ck_assert_ptr_null(aq_key_id("0000000000000000000x-abc"));
	ck_assert_int_eq(aq_key_make(1, "bad.id", a + 0, 8), -1);
	v[0] = c; v[1] = b; v[2] = a;
	aq_keys_sort(v, 3);
	/* Numeric order of acceptance times, not of ids. */
	ck_assert_str_eq(aq_key_id(v[0]), "zzz");
	ck_assert_str_eq(aq_key_id(v[1]), "aaa");
	ck_assert_str_eq(aq_key_id(v[2]), "m");
}
END_TEST

START_TEST(state_roundtrip)
{
	struct aq_state st, back;
	char *s;

	memset(&st, 0, sizeof st);
	snprintf(st.id, sizeof st.id, "r1");
	aq_key_make(5, "r1", st.key, sizeof st.key);
	st.status = AQ_FAILED;
	st.created_ms = 1000;
	st.started_ms = 2000;
	st.finished_ms = 3000;
	snprintf(st.callback_url, sizeof st.callback_url, "https://example.invalid/cb");
	snprintf(st.error_code, sizeof st.error_code, "unknown_template");
	snprintf(st.error_field, sizeof st.error_field, "template");
	st.error_http = 400;
	s = aq_state_dump(&st);
	ck_assert_ptr_nonnull(s);
	ck_assert_int_eq(aq_state_parse(s, strlen(s), &back), 0);
	ck_assert_str_eq(back.id, "r1");
	ck_assert_int_eq(back.status, AQ_FAILED);
	ck_assert_int_eq(back.finished_ms, 3000);
	ck_assert_str_eq(back.error_code, "unknown_template");
	ck_assert_int_eq(back.error_http, 400);
	ck_assert_str_eq(back.callback_url, st.callback_url);
	free(s);
	/* Malformed: bad status, id/key mismatch, wrong version, junk. */
	ck_assert_int_eq(aq_state_parse("{}", 2, &back), -1);
	ck_assert_int_eq(aq_state_parse("nope", 4, &back), -1);
	{
		const char *t = "{\"version\":1,\"id\":\"r2\",\"key\":\"00000000000000000005-r1\","
		                "\"status\":\"done\",\"created_ms\":1,\"started_ms\":1,\"finished_ms\":1,"
		                "\"callback_url\":\"\",\"request_id\":\"\"}";
		ck_assert_int_eq(aq_state_parse(t, strlen(t), &back), -1);
	}
	{
		const char *t = "{\"version\":1,\"id\":\"r1\",\"key\":\"00000000000000000005-r1\","
		                "\"status\":\"weird\",\"created_ms\":1,\"started_ms\":1,\"finished_ms\":1,"
		                "\"callback_url\":\"\",\"request_id\":\"\"}";
		ck_assert_int_eq(aq_state_parse(t, strlen(t), &back), -1);
	}
}
END_TEST

START_TEST(time_format)
{
	char t[40];

	aq_time_fmt(1764653400123LL, t, sizeof t);
	ck_assert_str_eq(t, "2025-12-02T05:30:00.123Z");
}
END_TEST

static char dir[] = "/tmp/check_async.XXXXXX";

static void store(struct aq_store *st, unsigned slots)
{
	struct aq_error e;

	/* mkdtemp fills the template in: a fresh one for each test. */
	snprintf(dir, sizeof dir, "/tmp/check_async.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	ck_assert_int_eq(aq_open(dir, slots, 1, st, &e), 0);
}

static void submit(struct aq_store *st, const char *id, uint64_t ns)
{
	struct aq_state run;
	struct aq_error e;

	memset(&run, 0, sizeof run);
	snprintf(run.id, sizeof run.id, "%s", id);
	run.created_ms = (int64_t)(ns / 1000000);
	ck_assert_int_eq(aq_submit(st, &run, ns, "{}", 2, &e), 0);
}

static void cleanup(struct aq_store *st)
{
	char cmd[64];

	aq_close(st);
	snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
	ck_assert_int_eq(system(cmd), 0);
}

START_TEST(queue_order_and_claim)
{
	struct aq_store st;
	struct aq_claim c;
	struct aq_state run;
	struct aq_error e;
	size_t q, r;

	store(&st, 2);
	submit(&st, "second", 2000);
	submit(&st, "first", 1000);
	submit(&st, "third", 3000);
	/* A duplicate id is refused while the run exists. */
	memset(&run, 0, sizeof run);
	snprintf(run.id, sizeof run.id, "first");
	ck_assert_int_eq(aq_submit(&st, &run, 4000, "{}", 2, &e), -1);
	ck_assert_int_eq(e.status, 409);
	aq_counts(&st, &q, &r);
	ck_assert_uint_eq(q, 3);
	ck_assert_int_eq(aq_claim_next(&st, &c), 1);
	ck_assert_str_eq(c.id, "first");
	aq_counts(&st, &q, &r);
	ck_assert_uint_eq(q, 2);
	ck_assert_uint_eq(r, 1);
	aq_claim_done(&st, &c);
	ck_assert_int_eq(aq_claim_next(&st, &c), 1);
	ck_assert_str_eq(c.id, "second");
	aq_claim_done(&st, &c);
	ck_assert_int_eq(aq_claim_next(&st, &c), 1);
	ck_assert_str_eq(c.id, "third");
	aq_claim_done(&st, &c);
	ck_assert_int_eq(aq_claim_next(&st, &c), 0);
	ck_assert_int_eq(aq_load(&st, "nope", &run, &e), -1);
	ck_assert_int_eq(e.status, 404);
	ck_assert_int_eq(aq_load(&st, "../x", &run, &e), -1);
	ck_assert_int_eq(e.status, 400);
	cleanup(&st);
}
END_TEST

START_TEST(one_claim_per_run)
{
	struct aq_store st;
	struct aq_claim c;
	pid_t pid;
	int status, claimed = 0;

	store(&st, 2);
	for (int i = 0; i < 40; i++) {
		char id[16];

		snprintf(id, sizeof id, "r%02d", i);
		submit(&st, id, 1000 + (uint64_t)i);
	}
	/* Two processes claim concurrently: 40 runs, 40 claims in all. */
	pid = fork();
	ck_assert_int_ge(pid, 0);
	while (aq_claim_next(&st, &c) == 1) {
		claimed++;
		aq_claim_done(&st, &c);
	}
	if (pid == 0)
		_exit(claimed > 255 ? 255 : claimed);
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert(WIFEXITED(status));
	ck_assert_int_eq(claimed + WEXITSTATUS(status), 40);
	cleanup(&st);
}
END_TEST

START_TEST(cancel_queued_and_running)
{
	struct aq_store st;
	struct aq_claim c;
	struct aq_state run;
	struct aq_error e;
	struct pollfd p;
	int fd;

	store(&st, 1);
	submit(&st, "q", 1000);
	submit(&st, "r", 2000);
	ck_assert_int_eq(aq_cancel(&st, "q", 5, &run, &e), 0);
	ck_assert_int_eq(run.status, AQ_CANCELLED);
	ck_assert_int_eq(aq_load(&st, "q", &run, &e), 0);
	ck_assert_int_eq(run.status, AQ_CANCELLED);
	ck_assert_int_eq(aq_cancel(&st, "q", 5, &run, &e), -1);
	ck_assert_int_eq(e.status, 409);
	/* The claim skips the cancelled run. */
	ck_assert_int_eq(aq_claim_next(&st, &c), 1);
	ck_assert_str_eq(c.id, "r");
	fd = aq_cancel_fd(&st, "r");
	ck_assert_int_ge(fd, 0);
	p = (struct pollfd){ .fd = fd, .events = POLLRDHUP };
	ck_assert_int_eq(poll(&p, 1, 0), 0);   /* no hang-up before a cancel */
	ck_assert(!aq_cancel_requested(&st, "r"));
	ck_assert_int_eq(aq_cancel(&st, "r", 5, &run, &e), 0);
	ck_assert_int_eq(run.status, AQ_QUEUED);   /* the executor decides */
	ck_assert(aq_cancel_requested(&st, "r"));
	ck_assert_int_eq(poll(&p, 1, 0), 1);
	ck_assert(p.revents & POLLHUP);
	close(fd);
	aq_claim_done(&st, &c);
	cleanup(&st);
}
END_TEST

START_TEST(slots_bound)
{
	struct aq_store st;
	int a, b;

	store(&st, 1);
	a = aq_slot_take(&st, false);
	ck_assert_int_ge(a, 0);
	/* Another process cannot take the only slot while it is held. */
	if (fork() == 0)
		_exit(aq_slot_take(&st, false) < 0 ? 0 : 1);
	{
		int status;

		wait(&status);
		ck_assert_int_eq(WEXITSTATUS(status), 0);
	}
	close(a);
	b = aq_slot_take(&st, false);
	ck_assert_int_ge(b, 0);
	close(b);
	cleanup(&st);
}
END_TEST

START_TEST(sweep_retention_and_recovery)
{
	struct aq_store st;
	struct aq_claim c;
	struct aq_state run;
	struct aq_error e;

	store(&st, 1);
	submit(&st, "done1", 1000);
	submit(&st, "dead", 2000);
	ck_assert_int_eq(aq_claim_next(&st, &c), 1);
	ck_assert_int_eq(aq_load(&st, "done1", &run, &e), 0);
	run.status = AQ_DONE;
	run.finished_ms = 10000;
	ck_assert_int_eq(aq_save(&st, &run, &e), 0);
	aq_claim_done(&st, &c);
	/* "dead": claimed by an executor that then died (its lock freed). */
	ck_assert_int_eq(aq_claim_next(&st, &c), 1);
	ck_assert_str_eq(c.id, "dead");
	close(c.lockfd);
	/* Within retention: kept; the dead run is failed, not dropped. */
	ck_assert_int_ge(aq_sweep(&st, 10500, 1000, NULL, NULL), 1);
	ck_assert_int_eq(aq_load(&st, "done1", &run, &e), 0);
	ck_assert_int_eq(aq_load(&st, "dead", &run, &e), 0);
	ck_assert_int_eq(run.status, AQ_FAILED);
	ck_assert_str_eq(run.error_code, "interrupted");
	/* After retention: removed, and the id is free again. */
	aq_sweep(&st, 11001, 1000, NULL, NULL);
	ck_assert_int_eq(aq_load(&st, "done1", &run, &e), -1);
	ck_assert_int_eq(e.status, 404);
	submit(&st, "done1", 3000);
	cleanup(&st);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("async");
	TCase *t = tcase_create("all");

	tcase_add_test(t, ids);
	tcase_add_test(t, keys_order);
	tcase_add_test(t, state_roundtrip);
	tcase_add_test(t, time_format);
	tcase_add_test(t, queue_order_and_claim);
	tcase_add_test(t, one_claim_per_run);
	tcase_add_test(t, cancel_queued_and_running);
	tcase_add_test(t, slots_bound);
	tcase_add_test(t, sweep_retention_and_recovery);
	suite_add_tcase(s, t);
	return s;
}

int main(void)
{
	return ck_run(suite());
}

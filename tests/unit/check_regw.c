/*
 * check_regw.c - the RootFS watch (src/fcgi/reg_watch.c): a switch of a
 * template's `current` link, a new template and a removed one are noticed;
 * nothing else makes the responder rescan; without inotify it rescans every
 * time (the old behaviour).
 */
#include <check.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fcgi/reg_watch.h"
#include "ck_run.h"

static char base[] = "/tmp/check-regw-XXXXXX";

static void path_of(char *out, size_t len, const char *rel)
{
	ck_assert_int_lt(snprintf(out, len, "%s/%s", base, rel), (int)len);
}

static void mkdir_rel(const char *rel)
{
	char p[512];
	path_of(p, sizeof p, rel);
	ck_assert_int_eq(mkdir(p, 0755), 0);
}

/* What build-rootfs.sh does: a new link renamed over `current`. */
static void switch_current(const char *tmpl, const char *version)
{
	char tmp[512], cur[512], rel[256];
	snprintf(rel, sizeof rel, "%s/current.new", tmpl);
	path_of(tmp, sizeof tmp, rel);
	snprintf(rel, sizeof rel, "%s/current", tmpl);
	path_of(cur, sizeof cur, rel);
	unlink(tmp);
	ck_assert_int_eq(symlink(version, tmp), 0);
	ck_assert_int_eq(rename(tmp, cur), 0);
}

static void setup(void)
{
	ck_assert_ptr_nonnull(mkdtemp(base));
	mkdir_rel("minimal");
	mkdir_rel("minimal/v1");
	mkdir_rel("minimal/v2");
	switch_current("minimal", "v1");
}

static int rm_one(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	(void)st; (void)type; (void)ftw;
	return remove(path);
}

static void teardown(void)
{
	ck_assert_int_eq(nftw(base, rm_one, 16, FTW_DEPTH | FTW_PHYS), 0);
	strcpy(base, "/tmp/check-regw-XXXXXX");
}

START_TEST(first_check_rescans_then_quiet)
{
	struct reg_watch w;
	const char *why;
	regw_open(&w, base, &why);
	ck_assert_ptr_null(why);
	ck_assert_int_ge(w.fd, 0);
	/* The registry was loaded before the watch existed: one rescan. */
	ck_assert(regw_changed(&w));
	regw_rescanned(&w, false);
	ck_assert(!regw_changed(&w));
	ck_assert(!regw_changed(&w));
	regw_close(&w);
}
END_TEST

START_TEST(switch_is_seen_by_the_next_check)
{
	struct reg_watch w;
	const char *why;
	regw_open(&w, base, &why);
	(void)regw_changed(&w);
	regw_rescanned(&w, false);
	switch_current("minimal", "v2");
	/* Queued before rename() returned: the very next check sees it. */
	ck_assert(regw_changed(&w));
	regw_rescanned(&w, false);
	ck_assert(!regw_changed(&w));
	/* A file written inside a version (not a switch) is not watched. */
	char p[512];
	path_of(p, sizeof p, "minimal/v2/runtimes.json");
	FILE *f = fopen(p, "w");
	ck_assert_ptr_nonnull(f);
	fclose(f);
	ck_assert(!regw_changed(&w));
	regw_close(&w);
}
END_TEST

START_TEST(new_template_then_its_switch)
{
	struct reg_watch w;
	const char *why;
	regw_open(&w, base, &why);
	(void)regw_changed(&w);
	regw_rescanned(&w, false);
	mkdir_rel("compilers");
	ck_assert(regw_changed(&w));
	/* The rescan watches the new directory: its first publish and later
	 * switches are seen too. */
	regw_rescanned(&w, false);
	mkdir_rel("compilers/v1");
	ck_assert(regw_changed(&w));
	regw_rescanned(&w, false);
	switch_current("compilers", "v1");
	ck_assert(regw_changed(&w));
	regw_rescanned(&w, false);
	char p[512];
	path_of(p, sizeof p, "compilers/current");
	ck_assert_int_eq(unlink(p), 0);
	ck_assert(regw_changed(&w));
	regw_close(&w);
}
END_TEST

START_TEST(failed_rescan_is_retried)
{
	struct reg_watch w;
	const char *why;
	regw_open(&w, base, &why);
	(void)regw_changed(&w);
	regw_rescanned(&w, true);
	/* A malformed new version: retried (and logged) at the next request. */
	ck_assert(regw_changed(&w));
	regw_rescanned(&w, false);
	ck_assert(!regw_changed(&w));
	regw_close(&w);
}
END_TEST

START_TEST(no_inotify_rescans_every_time)
{
	struct reg_watch w = { .fd = -1, .stale = false, .base = NULL };
	ck_assert(regw_changed(&w));
	regw_rescanned(&w, false);
	ck_assert(regw_changed(&w));
	regw_close(&w);
}
END_TEST

static Suite *regw_suite(void)
{
	Suite *s = suite_create("regw");
	TCase *tc = tcase_create("watch");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, first_check_rescans_then_quiet);
	tcase_add_test(tc, switch_is_seen_by_the_next_check);
	tcase_add_test(tc, new_template_then_its_switch);
	tcase_add_test(tc, failed_rescan_is_retried);
	tcase_add_test(tc, no_inotify_rescans_every_time);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return ck_run(regw_suite());
}

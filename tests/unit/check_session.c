/*
 * check_session.c - unit tests of src/session on a real filesystem: ids,
 * client paths, and the attacks a run can plant in its workspace (symlinks,
 * symlinked directories, hard links to host files, FIFOs, mounts), atomic
 * writes under a quota, listing, deletion, the store and concurrent sweeps.
 * Each resolution test runs twice: with openat2 and with the O_NOFOLLOW walk
 * that replaces it on kernels without openat2.
 */
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "session/ses_private.h"

static char base[64]; /* per test: base/{ws,outside,state} */
static int wsfd = -1;

static void setup(void)
{
	char p[128];

	snprintf(base, sizeof base, "/tmp/check-session-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(base));
	snprintf(p, sizeof p, "%s/ws", base);
	ck_assert_int_eq(mkdir(p, 0755), 0);
	snprintf(p, sizeof p, "%s/outside", base);
	ck_assert_int_eq(mkdir(p, 0755), 0);
	snprintf(p, sizeof p, "%s/state", base);
	ck_assert_int_eq(mkdir(p, 0700), 0);
	snprintf(p, sizeof p, "%s/ws", base);
	wsfd = open(p, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	ck_assert_int_ge(wsfd, 0);
	ses_use_openat2 = 1;
}

static void teardown(void)
{
	int fd = open("/tmp", O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	close(wsfd);
	ses_tree_remove(fd, base + 5, NULL);
	close(fd);
}

static char *at(const char *rel)
{
	static char p[4][256];
	static int i;

	i = (i + 1) % 4;
	snprintf(p[i], sizeof p[i], "%s/%s", base, rel);
	return p[i];
}

static void put(const char *rel, const char *text)
{
	int fd = open(at(rel), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
}

static void assert_content(const char *rel, const char *text)
{
	char buf[256] = "";
	int fd = open(at(rel), O_RDONLY | O_CLOEXEC);

	ck_assert_int_ge(fd, 0);
	ck_assert_int_ge(read(fd, buf, sizeof buf - 1), 0);
	close(fd);
	ck_assert_str_eq(buf, text);
}

/* No temp file left anywhere in dir. */
static void assert_no_temp(const char *rel)
{
	DIR *d = opendir(at(rel));
	struct dirent *de;

	ck_assert_ptr_nonnull(d);
	while ((de = readdir(d)))
		ck_assert_msg(strncmp(de->d_name, ".ses-tmp-", 9) != 0, "temp left: %s",
		              de->d_name);
	closedir(d);
}

/* --- ids --- */

START_TEST(test_id_new)
{
	char a[SES_ID_LEN + 1], b[SES_ID_LEN + 1];
	struct ses_error e;

	ck_assert_int_eq(ses_id_new(a, &e), 0);
	ck_assert_int_eq(ses_id_new(b, &e), 0);
	ck_assert_uint_eq(strlen(a), 32);
	ck_assert(ses_id_valid(a));
	ck_assert_str_ne(a, b);
}
END_TEST

START_TEST(test_id_malformed)
{
	static const char *bad[] = { "",
		                     "0123456789abcdef0123456789abcde",
		                     "0123456789abcdef0123456789abcdef0",
		                     "0123456789ABCDEF0123456789abcdef",
		                     "../../../../etc/passwd0123456789a",
		                     "0123456789abcdef/123456789abcdef",
		                     "0123456789abcdef0123456789abcdeg" };

	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		ck_assert_msg(!ses_id_valid(bad[i]), "accepted '%s'", bad[i]);
	ck_assert(!ses_id_valid(NULL));
}
END_TEST

/* --- client paths --- */

static void path_refused(const char *p, size_t len)
{
	struct ses_error e = { 0 };

	ck_assert_msg(ses_path_check(p, len, &e) == -1, "accepted '%s'", p);
	ck_assert_int_eq(e.status, 400);
	ck_assert_str_eq(e.code, "invalid_path");
	ck_assert_str_eq(e.field, "path");
}

START_TEST(test_path_check)
{
	static const char *bad[] = { "",     "..", ".",   "../x", "a/../b", "a/..", "/etc/passwd",
		                     "a//b", "a/", "./a", "a\nb", "a\x7f" };
	char deep[200] = "", longname[300], longpath[1100];
	struct ses_error e;

	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		path_refused(bad[i], strlen(bad[i]));
	path_refused("a\0/../../etc", 12); /* NUL: the length the client sent counts */
	for (int i = 0; i < 33; i++)
		strcat(deep, i ? "/d" : "d");
	path_refused(deep, strlen(deep));
	memset(longname, 'x', 256);
	longname[256] = '\0';
	path_refused(longname, 256);
	memset(longpath, 'x', sizeof longpath - 1);
	for (size_t i = 100; i < sizeof longpath - 1; i += 100)
		longpath[i] = '/';
	longpath[sizeof longpath - 1] = '\0';
	path_refused(longpath, strlen(longpath));
	ck_assert_int_eq(ses_path_check("a", 1, &e), 0);
	ck_assert_int_eq(ses_path_check(".hidden/b.txt", 13, &e), 0);
	ck_assert_int_eq(ses_path_check("..a/b..", 7, &e), 0);
	longname[255] = '\0';
	ck_assert_int_eq(ses_path_check(longname, 255, &e), 0);
}
END_TEST

/* Escapes are the URL layer's business: here "%2e%2e" is a plain name,
 * which stays inside the workspace. */
START_TEST(test_path_not_decoded)
{
	struct ses_error e = { 0 };
	struct stat st;

	ck_assert_int_eq(ses_path_check("%2e%2e/%2e%2e/etc/passwd", 24, &e), 0);
	ck_assert_int_eq(ses_file_open_read(wsfd, "%2e%2e/%2e%2e/etc/passwd", &st, &e), -1);
	ck_assert_int_eq(e.status, 404);
	ck_assert_int_eq(ses_file_write(wsfd, "%2e%2e/x", "y", 1, 0644, 1 << 20, &e), 0);
	assert_content("ws/%2e%2e/x", "y");
}
END_TEST

/* --- attacks planted in the workspace --- */

START_TEST(test_symlink_file)
{
	struct ses_error e = { 0 };
	struct stat st;
	uint64_t used = 1;

	ses_use_openat2 = _i;
	ck_assert_int_eq(symlink("/etc/passwd", at("ws/pw")), 0);
	ck_assert_int_eq(ses_file_open_read(wsfd, "pw", &st, &e), -1);
	ck_assert_int_eq(e.status, 403);
	ck_assert_str_eq(e.code, "unsafe_path");
	/* Writing over the link replaces the link, never the target. */
	ck_assert_int_eq(ses_file_write(wsfd, "pw", "x", 1, 0644, 1 << 20, &e), 0);
	assert_content("ws/pw", "x");
	ck_assert_int_eq(lstat("/etc/passwd", &st), 0);
	ck_assert_int_gt(st.st_size, 1);
	ck_assert_int_eq(symlink("/etc/passwd", at("ws/pw2")), 0);
	ck_assert_int_eq(ses_usage(wsfd, &used, &e), 0);
	ck_assert_uint_eq(used, SES_PAGE); /* pw only: the link charges nothing */
}
END_TEST

START_TEST(test_symlink_dir_in_path)
{
	struct ses_error e = { 0 };
	struct stat st;

	ses_use_openat2 = _i;
	ck_assert_int_eq(mkdir(at("ws/sub"), 0755), 0);
	ck_assert_int_eq(symlink(at("outside"), at("ws/sub/d")), 0);
	put("outside/secret", "s");
	ck_assert_int_eq(ses_file_open_read(wsfd, "sub/d/secret", &st, &e), -1);
	ck_assert_int_eq(e.status, 403);
	e.status = 0;
	ck_assert_int_eq(ses_file_write(wsfd, "sub/d/new", "x", 1, 0644, 1 << 20, &e), -1);
	ck_assert_int_eq(e.status, 403);
	ck_assert_int_eq(access(at("outside/new"), F_OK), -1);
	e.status = 0;
	ck_assert_int_eq(ses_file_delete(wsfd, "sub/d/secret", &e), -1);
	ck_assert_int_eq(e.status, 403);
	assert_content("outside/secret", "s");
	json_t *list = NULL;
	e.status = 0;
	ck_assert_int_eq(ses_dir_list(wsfd, "sub/d", &list, &e), -1);
	ck_assert_int_eq(e.status, 403);
	/* Even a link that stays inside is refused: no link is followed. */
	ck_assert_int_eq(symlink("sub", at("ws/inner")), 0);
	put("ws/sub/f", "f");
	ck_assert_int_eq(ses_file_open_read(wsfd, "inner/f", &st, &e), -1);
}
END_TEST

START_TEST(test_hard_link)
{
	struct ses_error e = { 0 };
	struct stat st;

	ses_use_openat2 = _i;
	put("outside/host", "host secret");
	ck_assert_int_eq(link(at("outside/host"), at("ws/h")), 0);
	ck_assert_int_eq(ses_file_open_read(wsfd, "h", &st, &e), -1);
	ck_assert_int_eq(e.status, 403);
	ck_assert_str_eq(e.code, "hard_link");
}
END_TEST

START_TEST(test_fifo)
{
	struct ses_error e = { 0 };
	struct stat st;

	ses_use_openat2 = _i;
	ck_assert_int_eq(mkfifo(at("ws/p"), 0644), 0);
	alarm(10); /* a blocking open would hang: fail instead */
	ck_assert_int_eq(ses_file_open_read(wsfd, "p", &st, &e), -1);
	alarm(0);
	ck_assert_int_eq(e.status, 400);
	ck_assert_str_eq(e.code, "not_a_file");
}
END_TEST

START_TEST(test_regular_read)
{
	struct ses_error e = { 0 };
	struct stat st;
	char buf[8] = "";

	ses_use_openat2 = _i;
	ck_assert_int_eq(mkdir(at("ws/a"), 0755), 0);
	put("ws/a/f", "hello");
	int fd = ses_file_open_read(wsfd, "a/f", &st, &e);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(read(fd, buf, sizeof buf - 1), 5);
	ck_assert_str_eq(buf, "hello");
	ck_assert_int_eq(st.st_size, 5);
	close(fd);
	ck_assert_int_eq(ses_file_open_read(wsfd, "a", &st, &e), -1);
	ck_assert_int_eq(e.status, 400);
	ck_assert_int_eq(ses_file_open_read(wsfd, "a/missing", &st, &e), -1);
	ck_assert_int_eq(e.status, 404);
	ck_assert_int_eq(ses_file_open_read(wsfd, "a/f/x", &st, &e), -1);
	ck_assert_int_eq(ses_file_open_read(wsfd, "../outside", &st, &e), -1);
	ck_assert_int_eq(e.status, 400);
}
END_TEST

/* The tree changes while the host resolves a path: a program swaps a real
 * directory and a symlink to a host directory as fast as it can. No open
 * may ever return the host file (a check-then-open would, sooner or later). */
START_TEST(test_swap_race)
{
	struct ses_error e = { 0 };
	struct stat st;
	unsigned opened = 0;
	pid_t pid;

	ses_use_openat2 = _i;
	ck_assert_int_eq(mkdir(at("ws/d"), 0755), 0);
	put("ws/d/f", "inside");
	put("outside/f", "host secret");
	ck_assert_int_eq(symlink(at("outside"), at("ws/l")), 0);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0)
		for (;;)
			renameat2(AT_FDCWD, at("ws/d"), AT_FDCWD, at("ws/l"), RENAME_EXCHANGE);
	for (int i = 0; i < 20000; i++) {
		char buf[32] = "";
		int fd = ses_file_open_read(wsfd, "d/f", &st, &e);

		if (fd < 0) {
			ck_assert_int_eq(e.status, 403); /* met the link: refused */
			continue;
		}
		ck_assert_int_ge(read(fd, buf, sizeof buf - 1), 0);
		close(fd);
		ck_assert_str_eq(buf, "inside");
		opened++;
	}
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	ck_assert_uint_gt(opened, 0);
}
END_TEST

/* A mount inside the workspace (root can plant one; a jail's /work cannot
 * reach the host's) is never crossed: RESOLVE_NO_XDEV, or the walk's mount
 * id check. Runs in a child with its own mount namespace. */
static int mount_child(int mode)
{
	struct ses_error e = { 0 };
	struct stat st;
	uint64_t used = 1;

	ses_use_openat2 = mode;
	if (unshare(CLONE_NEWNS) != 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0 ||
	    mkdir(at("ws/m"), 0755) != 0 || mount("t", at("ws/m"), "tmpfs", 0, "size=1m") != 0)
		return 77;
	/* wsfd still names the workspace in the old namespace, where no
	 * mount is: the checks must see this namespace's tree. */
	close(wsfd);
	wsfd = open(at("ws"), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	put("ws/m/f", "on another mount");
	if (ses_file_open_read(wsfd, "m/f", &st, &e) != -1 || e.status != 403)
		return 1;
	if (ses_file_write(wsfd, "m/g", "x", 1, 0644, 1 << 20, &e) != -1 || e.status != 403)
		return 2;
	if (ses_usage(wsfd, &used, &e) != 0 || used != 0)
		return 3;
	/* A bind mount of the same filesystem: same st_dev, other mount. */
	if (mkdir(at("ws/b"), 0755) != 0 ||
	    mount(at("outside"), at("ws/b"), NULL, MS_BIND, NULL) != 0)
		return 77;
	put("outside/s", "secret");
	if (ses_file_open_read(wsfd, "b/s", &st, &e) != -1 || e.status != 403)
		return 4;
	return 0;
}

START_TEST(test_mount_not_crossed)
{
	pid_t pid = fork();
	int status;

	ck_assert_int_ge(pid, 0);
	if (pid == 0)
		_exit(mount_child(_i));
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert(WIFEXITED(status));
	if (WEXITSTATUS(status) == 77)
		return; /* not root or no mount namespaces: nothing to check here */
	ck_assert_int_eq(WEXITSTATUS(status), 0);
}
END_TEST

/* --- writes and the quota --- */

START_TEST(test_write_atomic)
{
	struct ses_error e = { 0 };
	struct stat st;

	ses_use_openat2 = _i;
	ck_assert_int_eq(ses_file_write(wsfd, "a/b/c.txt", "one", 3, 0600, 1 << 20, &e), 0);
	assert_content("ws/a/b/c.txt", "one");
	ck_assert_int_eq(stat(at("ws/a/b/c.txt"), &st), 0);
	ck_assert_int_eq(st.st_mode & 07777, 0600);
	ck_assert_int_eq(ses_file_write(wsfd, "a/b/c.txt", "two!", 4, 0644, 1 << 20, &e), 0);
	assert_content("ws/a/b/c.txt", "two!");
	assert_no_temp("ws/a/b");
	/* Over a directory: refused, the directory stays. */
	ck_assert_int_eq(ses_file_write(wsfd, "a/b", "x", 1, 0644, 1 << 20, &e), -1);
	ck_assert_int_eq(e.status, 409);
	assert_no_temp("ws/a");
	/* Through a file as a directory. */
	ck_assert_int_eq(ses_file_write(wsfd, "a/b/c.txt/d", "x", 1, 0644, 1 << 20, &e), -1);
	ck_assert_int_eq(e.status, 403);
	ck_assert_int_eq(ses_file_write(wsfd, "/abs", "x", 1, 0644, 1 << 20, &e), -1);
	ck_assert_int_eq(e.status, 400);
}
END_TEST

START_TEST(test_quota)
{
	static char big[3 * SES_PAGE];
	struct ses_error e = { 0 };
	uint64_t used;

	ck_assert_int_eq(ses_file_write(wsfd, "keep", "precious", 8, 0644, 2 * SES_PAGE, &e), 0);
	ck_assert_int_eq(ses_file_write(wsfd, "b", big, SES_PAGE + 1, 0644, 2 * SES_PAGE, &e), -1);
	ck_assert_int_eq(e.status, 413);
	ck_assert_str_eq(e.code, "quota_exceeded");
	ck_assert_int_eq(
	        ses_file_write(wsfd, "new/dir/b", big, 2 * SES_PAGE, 0644, 2 * SES_PAGE, &e), -1);
	ck_assert_int_eq(e.status, 413);
	ck_assert_int_eq(access(at("ws/b"), F_OK), -1);
	ck_assert_int_eq(access(at("ws/new"), F_OK), -1);
	assert_no_temp("ws");
	/* Replacing a file over quota keeps the old one whole. */
	ck_assert_int_eq(ses_file_write(wsfd, "keep", big, sizeof big, 0644, 2 * SES_PAGE, &e), -1);
	assert_content("ws/keep", "precious");
	/* The old file's charge is freed by its replacement. */
	ck_assert_int_eq(ses_file_write(wsfd, "keep", big, 2 * SES_PAGE, 0644, 2 * SES_PAGE, &e),
	                 0);
	ck_assert_int_eq(ses_usage(wsfd, &used, &e), 0);
	ck_assert_uint_eq(used, 2 * SES_PAGE);
	ck_assert_uint_eq(ses_charge(0), 0);
	ck_assert_uint_eq(ses_charge(1), SES_PAGE);
	ck_assert_uint_eq(ses_charge(SES_PAGE), SES_PAGE);
}
END_TEST

/* A source of len pseudo-random bytes handed out in chunks of at most
 * chunk, failing (-1) or ending early (0) after fail_at bytes when set. */
struct gen_src {
	uint64_t left, fail_at, given;
	size_t chunk, calls, biggest;
	long fail_rc;
	unsigned seed;
};

static unsigned char gen_byte(unsigned *seed)
{
	*seed = *seed * 1103515245u + 12345u;
	return (unsigned char)(*seed >> 16);
}

static long gen_read(void *ctx, char *buf, size_t len)
{
	struct gen_src *g = ctx;
	size_t n = len < g->chunk ? len : g->chunk;

	g->calls++;
	if (len > g->biggest)
		g->biggest = len;
	if (g->fail_at && g->given >= g->fail_at)
		return g->fail_rc;
	if (n > g->left)
		n = (size_t)g->left;
	for (size_t i = 0; i < n; i++)
		buf[i] = (char)gen_byte(&g->seed);
	g->left -= n;
	g->given += n;
	return (long)n;
}

/* The streamed write: the bytes arrive in many small reads of at most
 * 64 KiB each (never the whole body at once) and land exactly. */
START_TEST(test_write_stream)
{
	struct gen_src g = { .left = 300000, .chunk = 7000, .seed = 42 };
	struct ses_error e = { 0 };
	unsigned seed = 42;
	unsigned char buf[4096];
	struct stat sb;
	uint64_t off = 0;
	ssize_t n;
	int fd;

	ck_assert_int_eq(ses_file_write_stream(wsfd, "s/big.bin", gen_read, &g, 300000, 0640,
	                                       1 << 20, &e), 0);
	ck_assert_uint_ge(g.calls, 300000 / 7000);
	ck_assert_uint_le(g.biggest, 65536);
	ck_assert_int_eq(stat(at("ws/s/big.bin"), &sb), 0);
	ck_assert_int_eq(sb.st_size, 300000);
	ck_assert_int_eq(sb.st_mode & 07777, 0640);
	fd = open(at("ws/s/big.bin"), O_RDONLY | O_CLOEXEC);
	ck_assert_int_ge(fd, 0);
	while ((n = read(fd, buf, sizeof buf)) > 0) {
		for (ssize_t i = 0; i < n; i++)
			ck_assert_msg(buf[i] == gen_byte(&seed), "byte %ju differs",
			              (uintmax_t)(off + (uint64_t)i));
		off += (uint64_t)n;
	}
	close(fd);
	ck_assert_uint_eq(off, 300000);
	assert_no_temp("ws/s");
	/* an empty body is an empty file */
	g = (struct gen_src){ .left = 0, .chunk = 1 };
	ck_assert_int_eq(ses_file_write_stream(wsfd, "empty", gen_read, &g, 0, 0644, 1 << 20, &e),
	                 0);
	ck_assert_int_eq(stat(at("ws/empty"), &sb), 0);
	ck_assert_int_eq(sb.st_size, 0);
}
END_TEST

/* A body that fails or ends before its length: 400, the old file whole,
 * no temp file; over quota: 413 before a single byte is read. */
START_TEST(test_write_stream_short)
{
	struct gen_src g = { .left = 100000, .chunk = 1000, .fail_at = 50000, .fail_rc = -1 };
	struct ses_error e = { 0 };

	put("ws/keep", "precious");
	ck_assert_int_eq(ses_file_write_stream(wsfd, "keep", gen_read, &g, 100000, 0644, 1 << 20,
	                                       &e), -1);
	ck_assert_int_eq(e.status, 400);
	ck_assert_str_eq(e.code, "invalid_request");
	assert_content("ws/keep", "precious");
	assert_no_temp("ws");
	g = (struct gen_src){ .left = 100000, .chunk = 1000, .fail_at = 1, .fail_rc = 0 };
	ck_assert_int_eq(ses_file_write_stream(wsfd, "keep", gen_read, &g, 100000, 0644, 1 << 20,
	                                       &e), -1);
	ck_assert_int_eq(e.status, 400);
	assert_content("ws/keep", "precious");
	assert_no_temp("ws");
	g = (struct gen_src){ .left = 100000, .chunk = 1000 };
	ck_assert_int_eq(ses_file_write_stream(wsfd, "new/dir/f", gen_read, &g, 100000, 0644,
	                                       16 * SES_PAGE, &e), -1);
	ck_assert_int_eq(e.status, 413);
	ck_assert_str_eq(e.code, "quota_exceeded");
	ck_assert_uint_eq(g.calls, 0);
	ck_assert_int_eq(access(at("ws/new"), F_OK), -1);
	/* the path rules are the same as ses_file_write's */
	ck_assert_int_eq(ses_file_write_stream(wsfd, "../x", gen_read, &g, 1, 0644, 1 << 20, &e),
	                 -1);
	ck_assert_int_eq(e.status, 400);
	ck_assert_int_eq(access(at("x"), F_OK), -1);
}
END_TEST

/* --- listing and deletion --- */

static json_t *find(json_t *arr, const char *name)
{
	size_t i;
	json_t *v;

	json_array_foreach(arr, i, v) if (strcmp(json_string_value(json_object_get(v, "name")),
	                                         name) == 0) return v;
	return NULL;
}

START_TEST(test_list)
{
	struct ses_error e = { 0 };
	json_t *arr = NULL, *v;

	ses_use_openat2 = _i;
	put("ws/f", "12345");
	ck_assert_int_eq(mkdir(at("ws/d"), 0750), 0);
	ck_assert_int_eq(symlink("/etc/passwd", at("ws/l")), 0);
	ck_assert_int_eq(mkfifo(at("ws/p"), 0600), 0);
	put("ws/.ses-tmp-0123", "half");
	ck_assert_int_eq(ses_dir_list(wsfd, "", &arr, &e), 0);
	ck_assert_uint_eq(json_array_size(arr), 4);
	v = find(arr, "f");
	ck_assert_str_eq(json_string_value(json_object_get(v, "type")), "file");
	ck_assert_int_eq(json_integer_value(json_object_get(v, "size")), 5);
	v = find(arr, "d");
	ck_assert_str_eq(json_string_value(json_object_get(v, "type")), "directory");
	ck_assert_int_eq(json_integer_value(json_object_get(v, "mode")), 0750);
	v = find(arr, "l");
	ck_assert_str_eq(json_string_value(json_object_get(v, "type")), "symlink");
	ck_assert_int_eq(json_integer_value(json_object_get(v, "size")), 11); /* the link's */
	ck_assert_str_eq(json_string_value(json_object_get(find(arr, "p"), "type")), "fifo");
	json_decref(arr);
	put("ws/d/bad\xff", "not UTF-8"); /* JSON cannot carry it: left out */
	ck_assert_int_eq(ses_dir_list(wsfd, "d", &arr, &e), 0);
	ck_assert_uint_eq(json_array_size(arr), 0);
	json_decref(arr);
	ck_assert_int_eq(ses_dir_list(wsfd, "l", &arr, &e), -1);
	ck_assert_int_eq(e.status, 403);
	ck_assert_int_eq(ses_dir_list(wsfd, "f", &arr, &e), -1);
}
END_TEST

START_TEST(test_delete)
{
	struct ses_error e = { 0 };
	struct stat st;

	ses_use_openat2 = _i;
	put("outside/t", "target");
	ck_assert_int_eq(symlink(at("outside/t"), at("ws/l")), 0);
	ck_assert_int_eq(ses_file_delete(wsfd, "l", &e), 0);
	ck_assert_int_eq(lstat(at("ws/l"), &st), -1);
	assert_content("outside/t", "target");
	ck_assert_int_eq(ses_file_write(wsfd, "d/f", "x", 1, 0644, 1 << 20, &e), 0);
	ck_assert_int_eq(ses_file_delete(wsfd, "d", &e), -1);
	ck_assert_int_eq(e.status, 409);
	ck_assert_str_eq(e.code, "not_empty");
	ck_assert_int_eq(ses_file_delete(wsfd, "d/f", &e), 0);
	ck_assert_int_eq(ses_file_delete(wsfd, "d", &e), 0);
	ck_assert_int_eq(ses_file_delete(wsfd, "d", &e), -1);
	ck_assert_int_eq(e.status, 404);
	ck_assert_int_eq(ses_file_delete(wsfd, "../outside/t", &e), -1);
	ck_assert_int_eq(e.status, 400);
	assert_content("outside/t", "target");
}
END_TEST

START_TEST(test_tree_remove_no_follow)
{
	struct ses_error e = { 0 };
	int fd = open(base, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	put("outside/t", "target");
	ck_assert_int_eq(ses_file_write(wsfd, "a/b/c", "x", 1, 0644, 1 << 20, &e), 0);
	ck_assert_int_eq(symlink(at("outside"), at("ws/a/link")), 0);
	ck_assert_int_eq(ses_tree_remove(fd, "ws", &e), 0);
	ck_assert_int_eq(access(at("ws"), F_OK), -1);
	assert_content("outside/t", "target");
	close(fd);
	ck_assert_int_eq(mkdir(at("ws"), 0755), 0); /* for teardown's symmetry */
}
END_TEST

/* --- the store --- */

static struct ses_store store_open(void)
{
	struct ses_store st;
	struct ses_error e;

	ck_assert_int_eq(ses_store_open(at("state"), &st, &e), 0);
	return st;
}

static void make(struct ses_store *st, struct ses_meta *m, uint32_t ttl, int64_t now)
{
	struct ses_error e;

	memset(m, 0, sizeof *m);
	snprintf(m->tmpl, sizeof m->tmpl, "python");
	m->idle_timeout_s = 600;
	m->disk_bytes = 50u << 20;
	ck_assert_int_eq(ses_create(st, m, ttl, now, &e), 0);
}

START_TEST(test_store_lifecycle)
{
	struct ses_store st = store_open();
	struct ses_meta m, l;
	struct ses_error e = { 0 };

	make(&st, &m, 3600, 1000);
	m.defaults = json_pack("{s:{s:i}}", "limits", "wall_time_s", 5);
	m.runs = 3;
	m.last_used = 1500;
	ck_assert_int_eq(ses_meta_save(&st, &m, &e), 0);
	ck_assert_int_eq(ses_load(&st, m.id, 1600, &l, &e), 0);
	ck_assert_str_eq(l.id, m.id);
	ck_assert_str_eq(l.tmpl, "python");
	ck_assert_int_eq(l.created_at, 1000);
	ck_assert_int_eq(l.last_used, 1500);
	ck_assert_int_eq(l.expires_at, 4600);
	ck_assert_uint_eq(l.runs, 3);
	ck_assert(json_equal(l.defaults, m.defaults));
	ses_meta_clear(&l);
	int w = ses_work_open(&st, m.id, &e);
	ck_assert_int_ge(w, 0);
	close(w);
	/* Idle expiry, lifetime expiry. */
	ck_assert_int_eq(ses_load(&st, m.id, 1500 + 600, &l, &e), -1);
	ck_assert_int_eq(e.status, 404);
	/* A touch moves last_used without rewriting meta.json. */
	ck_assert_int_eq(ses_touch(&st, m.id, 2000, &e), 0);
	ck_assert_int_eq(ses_load(&st, m.id, 2100, &l, &e), 0);
	ck_assert_int_eq(l.last_used, 2000);
	ck_assert_uint_eq(l.runs, 3);
	ses_meta_clear(&l);
	ck_assert_int_eq(ses_load(&st, m.id, 2600, &l, &e), -1);
	ck_assert_int_eq(ses_touch(&st, "0123456789abcdef0123456789abcdef", 2000, &e), -1);
	ck_assert_int_eq(e.status, 404);
	m.last_used = 4500;
	ck_assert_int_eq(ses_meta_save(&st, &m, &e), 0);
	ck_assert_int_eq(ses_load(&st, m.id, 4599, &l, &e), 0);
	ses_meta_clear(&l);
	ck_assert_int_eq(ses_load(&st, m.id, 4600, &l, &e), -1);
	ck_assert_int_eq(e.status, 404);
	/* Malformed and unknown ids. */
	ck_assert_int_eq(ses_load(&st, "../state", 1000, &l, &e), -1);
	ck_assert_int_eq(e.status, 400);
	ck_assert_str_eq(e.field, "session_id");
	ck_assert_int_eq(ses_load(&st, "0123456789abcdef0123456789abcdef", 1000, &l, &e), -1);
	ck_assert_int_eq(e.status, 404);
	/* Delete: gone at once, a second delete is a 404. */
	ck_assert_int_eq(ses_delete(&st, m.id, &e), 0);
	ck_assert_int_eq(ses_load(&st, m.id, 1000, &l, &e), -1);
	ck_assert_int_eq(e.status, 404);
	ck_assert_int_eq(ses_delete(&st, m.id, &e), -1);
	ck_assert_int_eq(e.status, 404);
	ck_assert_int_eq(rmdir(at("state/sessions")), 0); /* nothing left inside */
	ses_meta_clear(&m);
	ses_store_close(&st);
}
END_TEST

START_TEST(test_store_lock)
{
	struct ses_store st = store_open();
	struct ses_error e = { 0 };
	struct ses_meta m;

	make(&st, &m, 3600, 1000);
	int a = ses_lock(&st, m.id, false, &e);
	ck_assert_int_ge(a, 0);
	ck_assert_int_eq(ses_lock(&st, m.id, false, &e), -1);
	ck_assert_int_eq(e.status, 409);
	ck_assert_str_eq(e.code, "session_busy");
	close(a);
	a = ses_lock(&st, m.id, true, &e);
	ck_assert_int_ge(a, 0);
	close(a);
	ses_store_close(&st);
}
END_TEST

/* DELETE of a session a run holds: renamed out of sight at once, the lock
 * waited for (bounded), then the tree removed. */
START_TEST(test_delete_wait)
{
	struct ses_store st = store_open();
	struct ses_error e = { 0 };
	struct ses_meta m, other;
	bool waited = true;
	int pipefd[2], lock;
	char c;
	pid_t pid;

	make(&st, &m, 3600, 1000);
	make(&st, &other, 3600, 1000);
	ck_assert_int_eq(ses_delete_wait(&st, m.id, 1000, &waited, &e), 0);
	ck_assert(!waited);
	ck_assert_int_eq(ses_load(&st, m.id, 1000, &m, &e), -1);
	ck_assert_int_eq(e.status, 404);
	ck_assert_int_eq(ses_delete_wait(&st, m.id, 1000, &waited, &e), -1);
	ck_assert_int_eq(e.status, 404);
	ck_assert_int_eq(ses_delete_wait(&st, "../x", 1000, &waited, &e), -1);
	ck_assert_int_eq(e.status, 400);
	/* a "run" in another process holds the lock for a while */
	lock = ses_lock(&st, other.id, false, &e);
	ck_assert_int_ge(lock, 0);
	ck_assert_int_eq(pipe2(pipefd, O_CLOEXEC), 0);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		struct ses_error ce = { 0 };
		bool w = false;
		int rc = ses_delete_wait(&st, other.id, 10000, &w, &ce);

		_exit(rc == 0 && w ? 0 : 1);
	}
	close(pipefd[1]);
	/* renamed at once, while the lock is still held */
	for (int i = 0; i < 500 && faccessat(st.sessfd, other.id, F_OK, AT_SYMLINK_NOFOLLOW) == 0; i++)
		usleep(10000);
	ck_assert_int_eq(faccessat(st.sessfd, other.id, F_OK, AT_SYMLINK_NOFOLLOW), -1);
	close(lock);
	ck_assert_int_eq(read(pipefd[0], &c, 1), 0);
	close(pipefd[0]);
	int status;
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	ck_assert_int_eq(rmdir(at("state/sessions")), 0); /* nothing left inside */
	ses_store_close(&st);
}
END_TEST

/* A given id (several hosts): used as it is, once; malformed refused. */
START_TEST(test_create_given_id)
{
	struct ses_store st = store_open();
	struct ses_error e = { 0 };
	struct ses_meta m, again, bad;
	static const char id[] = "0123456789abcdef0123456789abcdef";

	memset(&m, 0, sizeof m);
	snprintf(m.id, sizeof m.id, "%s", id);
	snprintf(m.tmpl, sizeof m.tmpl, "python");
	m.idle_timeout_s = 600;
	m.disk_bytes = 1 << 20;
	ck_assert_int_eq(ses_create(&st, &m, 3600, 1000, &e), 0);
	ck_assert_str_eq(m.id, id);
	ck_assert_int_eq(ses_load(&st, id, 1000, &again, &e), 0);
	ses_meta_clear(&again);
	again = m;
	ck_assert_int_eq(ses_create(&st, &again, 3600, 1000, &e), -1);
	ck_assert_int_eq(e.status, 409);
	ck_assert_str_eq(e.code, "session_exists");
	memset(&bad, 0, sizeof bad);
	snprintf(bad.id, sizeof bad.id, "../../../etc");
	ck_assert_int_eq(ses_create(&st, &bad, 3600, 1000, &e), -1);
	ck_assert_int_eq(e.status, 400);
	ck_assert_str_eq(e.field, "session_id");
	/* nothing left of the refused ones: the session and no .new- */
	ck_assert_int_eq(ses_delete(&st, id, &e), 0);
	ck_assert_int_eq(rmdir(at("state/sessions")), 0);
	ses_store_close(&st);
}
END_TEST

static int count_id(const char *id, void *ctx)
{
	ck_assert(ses_id_valid(id));
	(*(unsigned *)ctx)++;
	return 0;
}

static int stop_at_first(const char *id, void *ctx)
{
	(void)id;
	(*(unsigned *)ctx)++;
	return 7;
}

START_TEST(test_each)
{
	struct ses_store st = store_open();
	struct ses_error e = { 0 };
	struct ses_meta m;
	unsigned n = 0;

	for (int i = 0; i < 3; i++)
		make(&st, &m, i == 0 ? 1 : 3600, 1000);
	ck_assert_int_eq(mkdirat(st.sessfd, ".new-0123", 0700), 0);
	ck_assert_int_eq(mkdirat(st.sessfd, ".del-0123", 0700), 0);
	ck_assert_int_eq(ses_each(&st, count_id, &n, &e), 0);
	ck_assert_uint_eq(n, 3);   /* expired ones too; leftovers are not sessions */
	n = 0;
	ck_assert_int_eq(ses_each(&st, stop_at_first, &n, &e), 7);
	ck_assert_uint_eq(n, 1);
	ses_store_close(&st);
}
END_TEST

START_TEST(test_corrupt_meta)
{
	struct ses_store st = store_open();
	struct ses_error e = { 0 };
	struct ses_meta m, l;
	unsigned swept = 9;
	char rel[128];

	make(&st, &m, 10, 1000);
	snprintf(rel, sizeof rel, "state/sessions/%s/meta.json", m.id);
	put(rel, "{\"id\": 1");
	ck_assert_int_eq(ses_load(&st, m.id, 1000, &l, &e), -1);
	ck_assert_int_eq(e.status, 500);
	/* The sweep does not guess: an unreadable session is left. */
	ck_assert_int_eq(ses_sweep(&st, 99999, &swept, &e), 0);
	ck_assert_uint_eq(swept, 0);
	ck_assert_int_eq(access(at(rel), F_OK), 0);
	ses_store_close(&st);
}
END_TEST

static unsigned count_sessions(struct ses_store *st, int64_t now, unsigned *leftovers)
{
	DIR *d = opendir(at("state/sessions"));
	struct dirent *de;
	unsigned n = 0;

	(void)st, (void)now;
	*leftovers = 0;
	ck_assert_ptr_nonnull(d);
	while ((de = readdir(d))) {
		if (ses_id_valid(de->d_name))
			n++;
		else if (de->d_name[0] == '.' && strcmp(de->d_name, ".") &&
		         strcmp(de->d_name, ".."))
			(*leftovers)++;
	}
	closedir(d);
	return n;
}

START_TEST(test_sweep_concurrent)
{
	struct ses_store st = store_open();
	struct ses_error e = { 0 };
	struct ses_meta m, busy;
	unsigned total = 0, left;
	pid_t pids[4];

	for (int i = 0; i < 20; i++) {
		make(&st, &m, i % 2 ? 100 : 10000, 1000);
		ck_assert_int_eq(ses_file_write(ses_work_open(&st, m.id, &e), "f", "x", 1, 0644,
		                                1 << 20, &e),
		                 0);
	}
	make(&st, &busy, 100, 1000); /* expired but locked by a run */
	int lock = ses_lock(&st, busy.id, false, &e);
	ck_assert_int_ge(lock, 0);
	for (int i = 0; i < 4; i++) {
		pids[i] = fork();
		ck_assert_int_ge(pids[i], 0);
		if (pids[i] == 0) {
			struct ses_store own = store_open();
			unsigned n = 0, sum = 0;

			/* Sweep until one pass finds nothing, as responders
			 * would on their idle ticks. */
			for (int k = 0; k < 50; k++) {
				if (ses_sweep(&own, 1500, &n, &e) != 0)
					_exit(200);
				sum += n;
			}
			_exit((int)sum);
		}
	}
	for (int i = 0; i < 4; i++) {
		int status;

		ck_assert_int_eq(waitpid(pids[i], &status, 0), pids[i]);
		ck_assert(WIFEXITED(status));
		ck_assert_int_ne(WEXITSTATUS(status), 200);
		total += (unsigned)WEXITSTATUS(status);
	}
	unsigned n = 0;
	ck_assert_int_eq(ses_sweep(&st, 1500, &n, &e), 0);
	total += n;
	ck_assert_uint_eq(total, 10);
	ck_assert_uint_eq(count_sessions(&st, 1500, &left), 11);
	ck_assert_uint_eq(left, 0);
	close(lock);
	ck_assert_int_eq(ses_sweep(&st, 1500, &n, &e), 0);
	ck_assert_uint_eq(n, 1);
	ses_store_close(&st);
}
END_TEST

START_TEST(test_sweep_leftovers)
{
	struct ses_store st = store_open();
	struct ses_error e = { 0 };
	unsigned n = 9, left;
	struct stat sb;

	ck_assert_int_eq(mkdir(at("state/sessions/.del-x-y"), 0700), 0);
	put("state/sessions/.del-x-y/f", "half deleted");
	ck_assert_int_eq(mkdir(at("state/sessions/.new-z"), 0700), 0);
	ck_assert_int_eq(stat(at("state/sessions/.new-z"), &sb), 0);
	/* A create in progress is left; an old one is a crash's leftover. */
	ck_assert_int_eq(ses_sweep(&st, sb.st_mtime + 1, &n, &e), 0);
	ck_assert_int_eq(access(at("state/sessions/.del-x-y"), F_OK), -1);
	ck_assert_int_eq(access(at("state/sessions/.new-z"), F_OK), 0);
	ck_assert_int_eq(ses_sweep(&st, sb.st_mtime + SES_STALE_S + 1, &n, &e), 0);
	ck_assert_uint_eq(count_sessions(&st, 0, &left), 0);
	ck_assert_uint_eq(left, 0);
	ses_store_close(&st);
}
END_TEST

/* A leftover the sweep cannot remove (a mount inside it) is reported, and
 * the expired sessions after it are removed all the same. */
static int sweep_blocked_child(void)
{
	struct ses_store st;
	struct ses_error e = { 0 };
	struct ses_meta m;
	unsigned n = 0, left;

	st = store_open();
	if (unshare(CLONE_NEWNS) != 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0 ||
	    mkdir(at("state/sessions/.del-a-b"), 0700) != 0 ||
	    mount("t", at("state/sessions/.del-a-b"), "tmpfs", 0, "size=1m") != 0)
		return 77;
	for (int i = 0; i < 8; i++) /* some come after the leftover in readdir order */
		make(&st, &m, 10, 1000);
	if (ses_sweep(&st, 5000, &n, &e) != -1 || e.status != 500)
		return 1;
	if (count_sessions(&st, 0, &left) != 0 || left != 1)
		return 2;
	umount(at("state/sessions/.del-a-b"));
	return 0;
}

START_TEST(test_sweep_goes_on)
{
	pid_t pid = fork();
	int status;

	ck_assert_int_ge(pid, 0);
	if (pid == 0)
		_exit(sweep_blocked_child());
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert(WIFEXITED(status));
	if (WEXITSTATUS(status) == 77)
		return; /* not root or no mount namespaces */
	ck_assert_int_eq(WEXITSTATUS(status), 0);
}
END_TEST

START_TEST(test_sweep_lock_held)
{
	struct ses_store st = store_open(), other = store_open();
	struct ses_error e = { 0 };
	struct ses_meta m;
	unsigned n = 9;

	make(&st, &m, 10, 1000);
	ck_assert_int_eq(flock(other.lockfd, LOCK_EX), 0);
	ck_assert_int_eq(ses_sweep(&st, 5000, &n, &e), 0);
	ck_assert_uint_eq(n, 0);
	ck_assert_int_eq(flock(other.lockfd, LOCK_UN), 0);
	ck_assert_int_eq(ses_sweep(&st, 5000, &n, &e), 0);
	ck_assert_uint_eq(n, 1);
	ses_store_close(&other);
	ses_store_close(&st);
}
END_TEST


/* --- copy in and copy back (session runs) --- */

static int dir_at(const char *rel)
{
	int fd = open(at(rel), O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	ck_assert_int_ge(fd, 0);
	return fd;
}

static void assert_link(const char *rel, const char *target)
{
	char buf[256];
	ssize_t n = readlink(at(rel), buf, sizeof buf - 1);

	ck_assert_int_ge(n, 0);
	buf[n] = '\0';
	ck_assert_str_eq(buf, target);
}

/* A tree as a run could leave it: files, a sub-directory, a symlink to a
 * host file, a FIFO, a hard link. */
static void plant(const char *dir)
{
	char p[64];

	snprintf(p, sizeof p, "%s/a", dir);
	put(p, "alpha");
	ck_assert_int_eq(chmod(at(p), 0750), 0);
	snprintf(p, sizeof p, "%s/d", dir);
	ck_assert_int_eq(mkdir(at(p), 0700), 0);
	snprintf(p, sizeof p, "%s/d/b", dir);
	put(p, "beta");
	snprintf(p, sizeof p, "%s/l", dir);
	ck_assert_int_eq(symlink("../../outside/t", at(p)), 0);
	snprintf(p, sizeof p, "%s/f", dir);
	ck_assert_int_eq(mkfifo(at(p), 0644), 0);
}

START_TEST(test_copy_in)
{
	struct ses_error e = { 0 };
	struct stat sb;
	int dst;

	put("outside/t", "host secret");
	plant("ws");
	ck_assert_int_eq(link(at("ws/a"), at("ws/h")), 0);
	ck_assert_int_eq(mkdir(at("dst"), 0755), 0);
	dst = dir_at("dst");
	ck_assert_int_eq(ses_copy_in(wsfd, dst, getuid(), getgid(), &e), 0);
	close(dst);
	assert_content("dst/a", "alpha");
	ck_assert_int_eq(lstat(at("dst/a"), &sb), 0);
	ck_assert_int_eq(sb.st_mode & 07777, 0750);
	ck_assert_int_eq(sb.st_nlink, 1);
	assert_content("dst/d/b", "beta");
	ck_assert_int_eq(lstat(at("dst/d"), &sb), 0);
	ck_assert_int_eq(sb.st_mode & 07777, 0700);
	/* The link is copied as a link, its target never read. */
	assert_link("dst/l", "../../outside/t");
	ck_assert_int_eq(lstat(at("dst/f"), &sb), -1);
	/* A hard link becomes a second file with the same contents. */
	assert_content("dst/h", "alpha");
	ck_assert_int_eq(lstat(at("dst/h"), &sb), 0);
	ck_assert_int_eq(sb.st_nlink, 1);
}
END_TEST

static int make_session_dir(void)
{
	ck_assert_int_eq(mkdir(at("sess"), 0700), 0);
	ck_assert_int_eq(mkdir(at("sess/work"), 0755), 0);
	put("sess/work/keep", "old");
	return dir_at("sess");
}

START_TEST(test_commit)
{
	struct ses_error e = { 0 };
	uint64_t used = 0;
	bool over = true;
	struct stat sb, ws;
	int sdir, src, w;

	ses_use_openat2 = _i;
	put("outside/t", "host secret");
	ck_assert_int_eq(mkdir(at("src"), 0755), 0);
	plant("src");
	ck_assert_int_eq(link(at("src/a"), at("src/h")), 0);
	sdir = make_session_dir();
	src = dir_at("src");
	ck_assert_int_eq(ses_commit(sdir, src, 1u << 20, &over, &used, &e), 0);
	ck_assert(!over);
	ck_assert_uint_eq(used, 3 * SES_PAGE); /* a, d/b and h: the link charges twice */
	ck_assert_int_eq(access(at("sess/work.new"), F_OK), -1);
	ck_assert_int_eq(access(at("sess/work/keep"), F_OK), -1);
	assert_content("sess/work/a", "alpha");
	assert_content("sess/work/d/b", "beta");
	assert_link("sess/work/l", "../../outside/t");
	ck_assert_int_eq(lstat(at("sess/work/f"), &sb), -1);
	/* Separate files: a download of either is allowed (no hard_link 403),
	 * and the link is refused, never followed to the host file. */
	w = dir_at("sess/work");
	ck_assert_int_eq(fstat(w, &ws), 0);
	ck_assert_int_eq(ws.st_mode & 07777, 0755);
	int fd = ses_file_open_read(w, "h", &sb, &e);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(sb.st_nlink, 1);
	close(fd);
	ck_assert_int_eq(ses_file_open_read(w, "l", &sb, &e), -1);
	ck_assert_int_eq(e.status, 403);
	close(w);
	assert_content("outside/t", "host secret");
	close(src);
	close(sdir);
}
END_TEST

START_TEST(test_commit_over_quota)
{
	struct ses_error e = { 0 };
	char big[5000];
	bool over = false;
	int sdir, src;

	memset(big, 'x', sizeof big - 1);
	big[sizeof big - 1] = '\0';
	ck_assert_int_eq(mkdir(at("src"), 0755), 0);
	put("src/x", big);
	/* Within quota as one inode in the run, over it as two files. */
	ck_assert_int_eq(link(at("src/x"), at("src/y")), 0);
	sdir = make_session_dir();
	src = dir_at("src");
	ck_assert_int_eq(ses_commit(sdir, src, 3 * SES_PAGE, &over, NULL, &e), 0);
	ck_assert(over);
	assert_content("sess/work/keep", "old");
	ck_assert_int_eq(access(at("sess/work/x"), F_OK), -1);
	ck_assert_int_eq(access(at("sess/work.new"), F_OK), -1);
	close(src);
	close(sdir);
}
END_TEST

START_TEST(test_commit_leftover)
{
	struct ses_error e = { 0 };
	bool over = true;
	int sdir, src;

	ck_assert_int_eq(mkdir(at("src"), 0755), 0);
	put("src/n", "new");
	sdir = make_session_dir();
	/* A crash between copy and swap left a work.new: not the new tree. */
	ck_assert_int_eq(mkdir(at("sess/work.new"), 0755), 0);
	put("sess/work.new/stale", "crash");
	src = dir_at("src");
	ck_assert_int_eq(ses_commit(sdir, src, 1u << 20, &over, NULL, &e), 0);
	ck_assert(!over);
	assert_content("sess/work/n", "new");
	ck_assert_int_eq(access(at("sess/work/stale"), F_OK), -1);
	ck_assert_int_eq(access(at("sess/work.new"), F_OK), -1);
	close(src);
	close(sdir);
}
END_TEST

static void rm_chain(int top)
{
	static int fds[SES_TREE_DEPTH_MAX + 2];
	int n = 0;

	fds[n++] = dup(top);
	for (;;) {
		int nfd = openat(fds[n - 1], "d", O_RDONLY | O_DIRECTORY | O_CLOEXEC);

		if (nfd < 0)
			break;
		fds[n++] = nfd;
	}
	while (n > 1) {
		close(fds[--n]);
		ck_assert_int_eq(unlinkat(fds[n - 1], "d", AT_REMOVEDIR), 0);
	}
	close(fds[0]);
}

START_TEST(test_copy_too_deep)
{
	struct ses_error e = { 0 };
	int fd = dup(wsfd), dst;

	for (int i = 0; i < SES_TREE_DEPTH_MAX; i++) {
		ck_assert_int_eq(mkdirat(fd, "d", 0755), 0);
		int nfd = openat(fd, "d", O_RDONLY | O_DIRECTORY | O_CLOEXEC);

		ck_assert_int_ge(nfd, 0);
		close(fd);
		fd = nfd;
	}
	close(fd);
	ck_assert_int_eq(mkdir(at("dst"), 0755), 0);
	dst = dir_at("dst");
	ck_assert_int_eq(ses_copy_in(wsfd, dst, getuid(), getgid(), &e), -1);
	ck_assert_int_eq(e.err, ELOOP);
	/* Deeper than teardown's removal goes: taken down here, bottom up. */
	rm_chain(wsfd);
	rm_chain(dst);
	close(dst);
}
END_TEST

START_TEST(test_sweep_work_new)
{
	struct ses_store st = store_open();
	struct ses_error e = { 0 };
	struct ses_meta m;
	char p[128];
	unsigned n = 9;
	int lock;

	make(&st, &m, 3600, 1000);
	snprintf(p, sizeof p, "state/sessions/%s/work.new", m.id);
	ck_assert_int_eq(mkdir(at(p), 0755), 0);
	/* A run holds the lock: its work.new is its own. */
	lock = ses_lock(&st, m.id, false, &e);
	ck_assert_int_ge(lock, 0);
	ck_assert_int_eq(ses_sweep(&st, 1001, &n, &e), 0);
	ck_assert_int_eq(access(at(p), F_OK), 0);
	close(lock);
	ck_assert_int_eq(ses_sweep(&st, 1001, &n, &e), 0);
	ck_assert_int_eq(access(at(p), F_OK), -1);
	snprintf(p, sizeof p, "state/sessions/%s/work", m.id);
	ck_assert_int_eq(access(at(p), F_OK), 0);
	ses_meta_clear(&m);
	ses_store_close(&st);
}
END_TEST

static void add(Suite *s, const char *name, const TTest *t, int modes)
{
	TCase *tc = tcase_create(name);

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 30);
	if (modes)
		tcase_add_loop_test(tc, t, 0, 2); /* _i: 0 walk, 1 openat2 */
	else
		tcase_add_test(tc, t);
	suite_add_tcase(s, tc);
}

int main(void)
{
	Suite *s = suite_create("session");
	SRunner *sr;
	int failed;

	add(s, "id_new", test_id_new, 0);
	add(s, "id_malformed", test_id_malformed, 0);
	add(s, "path_check", test_path_check, 0);
	add(s, "path_not_decoded", test_path_not_decoded, 0);
	add(s, "symlink_file", test_symlink_file, 1);
	add(s, "symlink_dir_in_path", test_symlink_dir_in_path, 1);
	add(s, "hard_link", test_hard_link, 1);
	add(s, "fifo", test_fifo, 1);
	add(s, "regular_read", test_regular_read, 1);
	add(s, "swap_race", test_swap_race, 1);
	add(s, "mount_not_crossed", test_mount_not_crossed, 1);
	add(s, "write_atomic", test_write_atomic, 1);
	add(s, "quota", test_quota, 0);
	add(s, "write_stream", test_write_stream, 1);
	add(s, "write_stream_short", test_write_stream_short, 0);
	add(s, "list", test_list, 1);
	add(s, "delete", test_delete, 1);
	add(s, "tree_remove_no_follow", test_tree_remove_no_follow, 0);
	add(s, "store_lifecycle", test_store_lifecycle, 0);
	add(s, "store_lock", test_store_lock, 0);
	add(s, "delete_wait", test_delete_wait, 0);
	add(s, "create_given_id", test_create_given_id, 0);
	add(s, "each", test_each, 0);
	add(s, "corrupt_meta", test_corrupt_meta, 0);
	add(s, "sweep_concurrent", test_sweep_concurrent, 0);
	add(s, "sweep_leftovers", test_sweep_leftovers, 0);
	add(s, "sweep_goes_on", test_sweep_goes_on, 0);
	add(s, "sweep_lock_held", test_sweep_lock_held, 0);
	add(s, "copy_in", test_copy_in, 0);
	add(s, "commit", test_commit, 1);
	add(s, "commit_over_quota", test_commit_over_quota, 0);
	add(s, "commit_leftover", test_commit_leftover, 0);
	add(s, "copy_too_deep", test_copy_too_deep, 0);
	add(s, "sweep_work_new", test_sweep_work_new, 0);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

/*
 * files.c - file operations inside a workspace: download open, atomic
 * write under a quota, usage, listing, deletion. Every lookup goes through
 * ses_open_beneath / fstatat(AT_SYMLINK_NOFOLLOW): a link or mount planted by
 * user code is listed or refused, never followed (docs/SESSIONS.md).
 */
#include "session/ses_private.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int checked(const char *rel, struct ses_error *e)
{
	return ses_path_check(rel, rel ? strlen(rel) : 0, e);
}

int ses_file_open_read(int wsfd, const char *rel, struct stat *out_st, struct ses_error *e)
{
	struct stat st;
	int fd;

	if (checked(rel, e) != 0)
		return -1;
	/* O_NONBLOCK: opening a FIFO for reading blocks until a writer comes
	 * (fifo(7)); non-blocking it opens at once and is refused below. */
	fd = ses_open_beneath(wsfd, rel, O_RDONLY | O_NONBLOCK | O_NOCTTY, e);
	if (fd < 0)
		return -1;
	if (fstat(fd, &st) != 0) {
		close(fd);
		return ses_errno_fail(e, errno, "fstat", rel);
	}
	if (!S_ISREG(st.st_mode)) {
		close(fd);
		return ses_fail(e, 400, "not_a_file", 0, "path: '%s' is not a regular file", rel);
	}
	/* A second name may be a host file linked in (link(2) needs no access
	 * to the target on a system without protected_hardlinks). */
	if (st.st_nlink > 1) {
		close(fd);
		return ses_fail(e, 403, "hard_link", 0, "path: '%s' has %ju links", rel,
		                (uintmax_t)st.st_nlink);
	}
	/* Back to blocking reads: a regular file never blocks anyway. */
	if (fcntl(fd, F_SETFL, 0) != 0) {
		close(fd);
		return ses_errno_fail(e, errno, "fcntl", rel);
	}
	*out_st = st;
	return fd;
}

uint64_t ses_charge(uint64_t size)
{
	return (size + SES_PAGE - 1) / SES_PAGE * SES_PAGE;
}

int ses_dir_each(int dfd, const char *op, unsigned depth, ses_entry_fn fn, void *ctx,
                 struct ses_error *e)
{
	struct dirent *d;
	struct stat st;
	DIR *dir;
	int rc = 0;

	if (fstat(dfd, &st) != 0 || !(dir = fdopendir(dfd))) {
		close(dfd);
		return ses_errno_fail(e, errno, op, ".");
	}
	while (rc == 0 && (d = readdir(dir)))
		if (strcmp(d->d_name, ".") != 0 && strcmp(d->d_name, "..") != 0)
			rc = fn(dirfd(dir), d->d_name, st.st_dev, depth, ctx, e);
	closedir(dir);
	return rc;
}

/* Charge of one entry of dfd; descends into directories of the same mount. */
static int usage_entry(int dfd, const char *name, dev_t dev, unsigned depth, void *ctx,
                       struct ses_error *e)
{
	uint64_t *sum = ctx;
	struct stat st;
	int sub;

	if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) != 0)
		return errno == ENOENT ? 0 : ses_errno_fail(e, errno, "usage", name);
	if (S_ISREG(st.st_mode))
		*sum += ses_charge((uint64_t)st.st_size);
	if (!S_ISDIR(st.st_mode) || st.st_dev != dev)
		return 0;
	if (depth >= SES_TREE_DEPTH_MAX)
		return ses_fail(e, 500, "session_failure", ELOOP, "usage: tree deeper than %d",
		                SES_TREE_DEPTH_MAX);
	sub = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (sub < 0)
		return errno == ENOENT ? 0 : ses_errno_fail(e, errno, "usage", name);
	return ses_dir_each(sub, "usage", depth + 1, usage_entry, sum, e);
}

int ses_usage(int wsfd, uint64_t *out, struct ses_error *e)
{
	uint64_t sum = 0;
	int fd = openat(wsfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (fd < 0)
		return ses_errno_fail(e, errno, "usage", ".");
	if (ses_dir_each(fd, "usage", 0, usage_entry, &sum, e) != 0)
		return -1;
	*out = sum;
	return 0;
}

static int write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;

	while (len) {
		ssize_t n = write(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Temp name in the target's directory: renameat(2) is atomic only within
 * one filesystem, and the dot prefix plus the random part keep it apart from
 * client names (which may start with a dot, but not collide with 32 hex). */
static int tmp_open(int dirfd, char *name, size_t size, mode_t mode, struct ses_error *e)
{
	char rnd[SES_ID_LEN + 1];

	if (ses_id_new(rnd, e) != 0)
		return -1;
	if (snprintf(name, size, ".ses-tmp-%s", rnd) >= (int)size)
		return ses_fail(e, 500, "session_failure", ENAMETOOLONG, "temp name");
	int fd = openat(dirfd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
	if (fd < 0)
		return ses_errno_fail(e, errno, "create", name);
	return fd;
}

/* Copies exactly len bytes from read to fd in chunks of at most 64 KiB. */
static int copy_in(int fd, ses_read_fn read, void *ctx, uint64_t len, const char *name,
                   struct ses_error *e)
{
	char buf[65536];

	while (len > 0) {
		long n = read(ctx, buf, len < sizeof buf ? (size_t)len : sizeof buf);

		if (n <= 0 || (uint64_t)n > len)
			return ses_fail(e, 400, "invalid_request", EIO,
			                "'%s': the body ended %ju bytes early", name, (uintmax_t)len);
		if (write_all(fd, buf, (size_t)n) != 0)
			return ses_errno_fail(e, errno, "write", name);
		len -= (uint64_t)n;
	}
	return 0;
}

int ses_write_at_stream(int dirfd, const char *name, ses_read_fn read, void *ctx, uint64_t len,
                        mode_t mode, struct ses_error *e)
{
	char tmp[64];
	int fd = tmp_open(dirfd, tmp, sizeof tmp, mode, e);
	int rc, err = 0;

	if (fd < 0)
		return -1;
	/* fchmod: the umask must not decide what a client asked for. fsync
	 * before the rename: after a crash the name holds old or new data,
	 * never an empty file. */
	rc = copy_in(fd, read, ctx, len, name, e);
	if (rc == 0 && (fchmod(fd, mode) != 0 || fsync(fd) != 0)) {
		rc = -1;
		err = errno;
	}
	if (close(fd) != 0 && rc == 0) {
		rc = -1;
		err = errno;
	}
	if (rc == 0 && renameat(dirfd, tmp, dirfd, name) != 0) {
		rc = -1;
		err = errno;
	}
	if (rc != 0) {
		unlinkat(dirfd, tmp, 0);
		return err ? ses_errno_fail(e, err, "write", name) : -1;
	}
	/* The rename is durable once the directory is (dirfd is O_RDONLY,
	 * not O_PATH, for this fsync). */
	fsync(dirfd);
	return 0;
}

struct mem_src { const char *p; size_t left; };

static long mem_read(void *ctx, char *buf, size_t len)
{
	struct mem_src *m = ctx;
	size_t n = m->left < len ? m->left : len;

	memcpy(buf, m->p, n);
	m->p += n;
	m->left -= n;
	return (long)n;
}

int ses_write_at(int dirfd, const char *name, const void *buf, size_t len, mode_t mode,
                 struct ses_error *e)
{
	struct mem_src m = { buf, len };

	return ses_write_at_stream(dirfd, name, mem_read, &m, len, mode, e);
}

/* Charge of what the write replaces: a regular file's, else 0. */
static uint64_t old_charge(int dirfd, const char *leaf)
{
	struct stat st;

	if (fstatat(dirfd, leaf, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(st.st_mode))
		return ses_charge((uint64_t)st.st_size);
	return 0;
}

int ses_file_write_stream(int wsfd, const char *rel, ses_read_fn read, void *ctx, uint64_t len,
                          mode_t mode, uint64_t quota, struct ses_error *e)
{
	const char *leaf;
	uint64_t used;
	int dfd, rc;

	if (checked(rel, e) != 0 || ses_usage(wsfd, &used, e) != 0)
		return -1;
	/* Checked before anything is created, so a refused write leaves no
	 * directory behind either. The session lock keeps writers apart. */
	dfd = ses_open_parent(wsfd, rel, false, &leaf, e);
	if (dfd < 0 && e && e->status != 404)
		return -1;
	uint64_t old = dfd >= 0 ? old_charge(dfd, leaf) : 0;
	if (dfd >= 0)
		close(dfd);
	if (len > quota || used - old + ses_charge(len) > quota)
		return ses_fail(e, 413, "quota_exceeded", EDQUOT,
		                "'%s': %ju bytes would bring the workspace to %ju of %ju bytes",
		                rel, (uintmax_t)len, (uintmax_t)(used - old + ses_charge(len)),
		                (uintmax_t)quota);
	dfd = ses_open_parent(wsfd, rel, true, &leaf, e);
	if (dfd < 0)
		return -1;
	rc = ses_write_at_stream(dfd, leaf, read, ctx, len, mode & 07777, e);
	close(dfd);
	return rc;
}

int ses_file_write(int wsfd, const char *rel, const void *buf, size_t len, mode_t mode,
                   uint64_t quota, struct ses_error *e)
{
	struct mem_src m = { buf, len };

	return ses_file_write_stream(wsfd, rel, mem_read, &m, len, mode, quota, e);
}

int ses_file_delete(int wsfd, const char *rel, struct ses_error *e)
{
	const char *leaf;
	struct stat st;
	int dfd, rc = 0;

	if (checked(rel, e) != 0)
		return -1;
	dfd = ses_open_parent(wsfd, rel, false, &leaf, e);
	if (dfd < 0)
		return -1;
	if (fstatat(dfd, leaf, &st, AT_SYMLINK_NOFOLLOW) != 0 ||
	    unlinkat(dfd, leaf, S_ISDIR(st.st_mode) ? AT_REMOVEDIR : 0) != 0)
		rc = ses_errno_fail(e, errno == EEXIST ? ENOTEMPTY : errno, "delete", rel);
	close(dfd);
	return rc;
}

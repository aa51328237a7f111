/*
 * copy.c - a session run's workspace in and out of the run's /work tmpfs
 * (docs/SESSIONS.md, "Quota model"): copy in before the run, copy back into
 * work.new after it, then swap with work atomically.
 *
 * Both trees are hostile: the workspace was shaped by earlier runs and the
 * tmpfs by this one. Every entry is lstat'ed and opened with O_NOFOLLOW
 * relative to its parent's fd; a symlink is copied as a symlink (its target
 * is a string, never resolved here), a FIFO, socket or device is skipped,
 * a directory on another device (a mount) is not descended, and a file is
 * checked to be regular after opening (O_NONBLOCK: opening a FIFO that
 * replaced it cannot block). Contents are copied, so a hard link becomes
 * separate files and nothing on one side ever names an inode of the other.
 */
#include "session/ses_private.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define COPY_BUF 65536

struct copy_ctx {
	dev_t dst_dev;
	bool chown;        /* copy in: entries owned by uid:gid */
	uid_t uid;
	gid_t gid;
	bool quota_check;  /* copy back: stop once the charge passes quota */
	uint64_t quota;
	uint64_t used;     /* ses_usage rules: regular files, page-rounded */
	bool over;
	int dstfd;         /* the directory being filled */
};

static int copy_data(int in, int out)
{
	/* copy_file_range between two filesystems (tmpfs and the state
	 * disk) works since 5.3 and falls back to a plain copy in the
	 * kernel; EXDEV/ENOSYS/EINVAL on older kernels: read/write. */
	for (;;) {
		ssize_t n = copy_file_range(in, NULL, out, NULL, 1 << 30, 0);

		if (n == 0)
			return 0;
		if (n > 0)
			continue;
		if (errno == EINTR)
			continue;
		if (errno != EXDEV && errno != ENOSYS && errno != EINVAL && errno != EOPNOTSUPP)
			return -1;
		break;
	}
	char *buf = malloc(COPY_BUF);

	if (!buf)
		return -1;
	for (;;) {
		ssize_t n = read(in, buf, COPY_BUF);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			free(buf);
			return n < 0 ? -1 : 0;
		}
		for (ssize_t off = 0; off < n;) {
			ssize_t w = write(out, buf + off, (size_t)(n - off));

			if (w < 0 && errno == EINTR)
				continue;
			if (w < 0) {
				free(buf);
				return -1;
			}
			off += w;
		}
	}
}

static int copy_file(int sdfd, const char *name, dev_t dev, struct copy_ctx *c,
                     struct ses_error *e)
{
	struct stat st;
	int in = openat(sdfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);

	if (in < 0)
		return errno == ENOENT ? 0 : ses_errno_fail(e, errno, "copy", name);
	/* Checked on the open file: what was lstat'ed may have been swapped. */
	if (fstat(in, &st) != 0 || !S_ISREG(st.st_mode) || st.st_dev != dev) {
		close(in);
		return 0;
	}
	if (c->quota_check) {
		c->used += ses_charge((uint64_t)st.st_size);
		if (c->used > c->quota) {
			c->over = true;
			close(in);
			return -1;
		}
	}
	int out = openat(c->dstfd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
	                 0600);
	int rc = out < 0 ? -1 : copy_data(in, out);

	/* Mode bits & 0777: no set-id or sticky bit travels either way. */
	if (rc == 0)
		rc = fchmod(out, st.st_mode & 0777);
	if (rc == 0 && c->chown)
		rc = fchown(out, c->uid, c->gid);
	int err = errno;

	close(in);
	if (out >= 0)
		close(out);
	return rc != 0 ? ses_errno_fail(e, err, "copy", name) : 0;
}

static int copy_link(int sdfd, const char *name, const struct stat *st, struct copy_ctx *c,
                     struct ses_error *e)
{
	char target[PATH_MAX];
	ssize_t n;

	if (st->st_size >= PATH_MAX)
		return 0;
	n = readlinkat(sdfd, name, target, sizeof target);
	if (n < 0)
		return errno == ENOENT || errno == EINVAL ? 0 : ses_errno_fail(e, errno, "copy", name);
	if ((size_t)n >= sizeof target)
		return 0;
	target[n] = '\0';
	if (symlinkat(target, c->dstfd, name) != 0 ||
	    (c->chown && fchownat(c->dstfd, name, c->uid, c->gid, AT_SYMLINK_NOFOLLOW) != 0))
		return ses_errno_fail(e, errno, "copy", name);
	return 0;
}

static int copy_entry(int sdfd, const char *name, dev_t dev, unsigned depth, void *ctx,
                      struct ses_error *e);

static int copy_dir(int sdfd, const char *name, dev_t dev, unsigned depth,
                    const struct stat *st, struct copy_ctx *c, struct ses_error *e)
{
	int parent = c->dstfd, sub, dsub, rc;
	struct stat dst;

	/* Another mount inside the tree (only host root could make one) is
	 * not descended, on either side. */
	if (st->st_dev != dev)
		return 0;
	if (depth + 1 >= SES_TREE_DEPTH_MAX)
		return ses_fail(e, 500, "session_failure", ELOOP, "copy: tree deeper than %d",
		                SES_TREE_DEPTH_MAX);
	sub = openat(sdfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (sub < 0)
		return errno == ENOENT || errno == ENOTDIR || errno == ELOOP
		               ? 0
		               : ses_errno_fail(e, errno, "copy", name);
	/* 0700 while it is filled: the final mode (maybe read-only) last. */
	if (mkdirat(parent, name, 0700) != 0) {
		close(sub);
		return ses_errno_fail(e, errno, "copy", name);
	}
	dsub = openat(parent, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (dsub < 0 || fstat(dsub, &dst) != 0 || dst.st_dev != c->dst_dev) {
		int err = dsub < 0 ? errno : EXDEV;

		if (dsub >= 0)
			close(dsub);
		close(sub);
		return ses_errno_fail(e, err, "copy", name);
	}
	c->dstfd = dsub;
	rc = ses_dir_each(sub, "copy", depth + 1, copy_entry, c, e);
	c->dstfd = parent;
	if (rc == 0 && c->chown && fchown(dsub, c->uid, c->gid) != 0)
		rc = ses_errno_fail(e, errno, "copy", name);
	if (rc == 0 && fchmod(dsub, st->st_mode & 0777) != 0)
		rc = ses_errno_fail(e, errno, "copy", name);
	close(dsub);
	return rc;
}

static int copy_entry(int sdfd, const char *name, dev_t dev, unsigned depth, void *ctx,
                      struct ses_error *e)
{
	struct copy_ctx *c = ctx;
	struct stat st;

	if (fstatat(sdfd, name, &st, AT_SYMLINK_NOFOLLOW) != 0)
		return errno == ENOENT ? 0 : ses_errno_fail(e, errno, "copy", name);
	if (S_ISREG(st.st_mode))
		return copy_file(sdfd, name, dev, c, e);
	if (S_ISDIR(st.st_mode))
		return copy_dir(sdfd, name, dev, depth, &st, c, e);
	if (S_ISLNK(st.st_mode))
		return copy_link(sdfd, name, &st, c, e);
	return 0; /* FIFO, socket, device: not workspace content */
}

/* Copies the entries of srcfd into dstfd (both stay open). */
static int copy_tree(int srcfd, int dstfd, struct copy_ctx *c, struct ses_error *e)
{
	struct stat dst;
	int fd = openat(srcfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (fd < 0 || fstat(dstfd, &dst) != 0) {
		int err = errno;

		if (fd >= 0)
			close(fd);
		return ses_errno_fail(e, err, "copy", ".");
	}
	c->dst_dev = dst.st_dev;
	c->dstfd = dstfd;
	return ses_dir_each(fd, "copy", 0, copy_entry, c, e);
}

int ses_copy_in(int wsfd, int dstfd, uid_t uid, gid_t gid, struct ses_error *e)
{
	struct copy_ctx c = { .chown = true, .uid = uid, .gid = gid };

	return copy_tree(wsfd, dstfd, &c, e);
}

int ses_dir_open(struct ses_store *st, const char *id, struct ses_error *e)
{
	int fd;

	if (!ses_id_valid(id))
		return ses_fail(e, 400, "invalid_session_id", EINVAL, "session id: malformed");
	fd = openat(st->sessfd, id, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0 && errno == ENOENT)
		return ses_fail(e, 404, "session_not_found", ENOENT, "session '%s' does not exist",
		                id);
	if (fd < 0)
		return ses_errno_fail(e, errno, "session", id);
	return fd;
}

#define WORK_NEW "work.new"

int ses_commit(int sdirfd, int srcfd, uint64_t quota, bool *over, uint64_t *out_used,
               struct ses_error *e)
{
	struct copy_ctx c = { .quota_check = true, .quota = quota };
	int nfd, rc;

	*over = false;
	/* A leftover of a crash between copy and swap (the sweep removes
	 * those of idle sessions; we hold the lock, so it is ours to drop). */
	if (ses_tree_remove(sdirfd, WORK_NEW, e) != 0)
		return -1;
	if (mkdirat(sdirfd, WORK_NEW, 0755) != 0)
		return ses_errno_fail(e, errno, "commit", WORK_NEW);
	nfd = openat(sdirfd, WORK_NEW, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (nfd < 0) {
		rc = ses_errno_fail(e, errno, "commit", WORK_NEW);
		ses_tree_remove(sdirfd, WORK_NEW, NULL);
		return rc;
	}
	rc = copy_tree(srcfd, nfd, &c, e);
	if (rc != 0 && c.over) {
		/* Over quota (hard links inside the run count once per name
		 * here): work/ is untouched, the copy goes. */
		close(nfd);
		*over = true;
		if (out_used)
			*out_used = c.used;
		return ses_tree_remove(sdirfd, WORK_NEW, e);
	}
	/* One syncfs for the whole copy (every file of work.new is on the
	 * state filesystem) instead of an fsync per file; then the swap,
	 * then the directory that records it. */
	if (rc == 0 && syncfs(nfd) != 0)
		rc = ses_errno_fail(e, errno, "commit", "syncfs");
	close(nfd);
	if (rc == 0 && renameat2(sdirfd, WORK_NEW, sdirfd, "work", RENAME_EXCHANGE) != 0)
		rc = ses_errno_fail(e, errno, "commit", "swap");
	if (rc == 0 && fsync(sdirfd) != 0)
		rc = ses_errno_fail(e, errno, "commit", "fsync");
	/* After a swap work.new is the old tree; without one, the partial
	 * copy. Either way it goes; a failure to remove it after the swap
	 * does not undo the commit (the next commit or the sweep removes it). */
	ses_tree_remove(sdirfd, WORK_NEW, NULL);
	if (rc == 0 && out_used)
		*out_used = c.used;
	return rc;
}

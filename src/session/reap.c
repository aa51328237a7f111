/*
 * reap.c - per-session lock, deletion and the expiry sweep. The sweep is
 * shared by every responder of every pool on the host: flock on
 * STATE/sweep.lock lets one run at a time, the others skip (docs/SESSIONS.md,
 * "Expiry").
 */
#include "session/ses_private.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>
#include <time.h>

int ses_work_open(struct ses_store *st, const char *id, struct ses_error *e)
{
	char path[SES_ID_LEN + 8];
	int fd;

	if (!ses_id_valid(id))
		return ses_fail(e, 400, "invalid_session_id", EINVAL, "session id: malformed");
	snprintf(path, sizeof path, "%s/work", id);
	fd = openat(st->sessfd, path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0 && errno == ENOENT)
		return ses_fail(e, 404, "session_not_found", ENOENT, "session '%s' does not exist",
		                id);
	if (fd < 0)
		return ses_errno_fail(e, errno, "workspace", id);
	return fd;
}

int ses_lock(struct ses_store *st, const char *id, bool wait, struct ses_error *e)
{
	char path[SES_ID_LEN + 8];
	int fd;

	if (!ses_id_valid(id))
		return ses_fail(e, 400, "invalid_session_id", EINVAL, "session id: malformed");
	snprintf(path, sizeof path, "%s/lock", id);
	fd = openat(st->sessfd, path, O_RDWR | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0 && errno == ENOENT)
		return ses_fail(e, 404, "session_not_found", ENOENT, "session '%s' does not exist",
		                id);
	if (fd < 0)
		return ses_errno_fail(e, errno, "session lock", id);
	while (flock(fd, LOCK_EX | (wait ? 0 : LOCK_NB)) != 0) {
		int err = errno;

		if (err == EINTR)
			continue;
		close(fd);
		if (err == EWOULDBLOCK)
			return ses_fail(e, 409, "session_busy", err, "session '%s' is busy", id);
		return ses_errno_fail(e, err, "session lock", id);
	}
	return fd;
}

/* Renames session id out of sight to a fresh .del-<id>-<rand> (its name
 * into trash). The rename is the delete: from here no load finds the
 * session, and a crash in the removal leaves only a .del- directory the
 * sweep removes. Two deleters race on the rename; the loser gets ENOENT. */
static int rename_out(struct ses_store *st, const char *id, char *trash, size_t size,
                      struct ses_error *e)
{
	char rnd[SES_ID_LEN + 1];

	if (!ses_id_valid(id))
		return ses_fail(e, 400, "invalid_session_id", EINVAL, "session id: malformed");
	if (ses_id_new(rnd, e) != 0)
		return -1;
	snprintf(trash, size, ".del-%s-%s", id, rnd);
	if (renameat(st->sessfd, id, st->sessfd, trash) != 0) {
		if (errno == ENOENT)
			return ses_fail(e, 404, "session_not_found", ENOENT,
			                "session '%s' does not exist", id);
		return ses_errno_fail(e, errno, "delete session", id);
	}
	return 0;
}

int ses_delete(struct ses_store *st, const char *id, struct ses_error *e)
{
	char trash[2 * SES_ID_LEN + 16];

	if (rename_out(st, id, trash, sizeof trash, e) != 0)
		return -1;
	return ses_tree_remove(st->sessfd, trash, e);
}

/* A live session's work.new left by a crash between a run's copy-back and
 * its swap (ses_commit): removed when the lock is free, i.e. no run is
 * between those two steps now. */
static int sweep_work_new(struct ses_store *st, const char *name, struct ses_error *e)
{
	char path[SES_NAME_MAX + 16];
	struct ses_error ignored;
	struct stat sb;
	int lock, dfd, rc;

	snprintf(path, sizeof path, "%.*s/work.new", SES_ID_LEN, name);
	if (fstatat(st->sessfd, path, &sb, AT_SYMLINK_NOFOLLOW) != 0)
		return 0;
	lock = ses_lock(st, name, false, &ignored);
	if (lock < 0)
		return 0;
	dfd = ses_dir_open(st, name, &ignored);
	rc = dfd < 0 ? 0 : ses_tree_remove(dfd, "work.new", e);
	if (dfd >= 0)
		close(dfd);
	close(lock);
	return rc;
}

/* Deletes session name when expired and not locked by a run. */
static int sweep_one(struct ses_store *st, const char *name, int64_t now, unsigned *swept,
                     struct ses_error *e)
{
	struct ses_error ignored;
	struct ses_meta m;
	int lock;

	if (ses_load(st, name, now, &m, &ignored) == 0) {
		ses_meta_clear(&m);
		return sweep_work_new(st, name, e);
	}
	if (ignored.status != 404)
		return 0; /* unreadable meta: left for the operator, not guessed at */
	lock = ses_lock(st, name, false, &ignored);
	if (lock < 0)
		return 0; /* a run holds it; the next sweep will see it */
	int rc = ses_delete(st, name, e);
	close(lock);
	if (rc == 0)
		(*swept)++;
	return rc != 0 && e && e->status == 404 ? 0 : rc;
}

/* A .new- directory is a create in progress, or one a crash interrupted:
 * only the second kind, old enough that no create can still be running
 * (a create is a few file operations), is removed. */
static bool stale_new(struct ses_store *st, const char *name, int64_t now)
{
	struct stat sb;

	return strncmp(name, ".new-", 5) == 0 &&
	       fstatat(st->sessfd, name, &sb, AT_SYMLINK_NOFOLLOW) == 0 &&
	       now - (int64_t)sb.st_mtime > SES_STALE_S;
}

static int sweep_dir(struct ses_store *st, int64_t now, unsigned *swept, struct ses_error *e)
{
	int fd = openat(st->sessfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	struct dirent *d;
	DIR *dir;
	int rc = 0;

	if (fd < 0 || !(dir = fdopendir(fd))) {
		if (fd >= 0)
			close(fd);
		return ses_errno_fail(e, errno, "sweep", "sessions");
	}
	/* One session that cannot be removed must not stop the expiry of
	 * the others: the sweep goes on and reports the first error. */
	while ((d = readdir(dir))) {
		struct ses_error one;
		int r = 0;

		if (ses_id_valid(d->d_name))
			r = sweep_one(st, d->d_name, now, swept, &one);
		else if (strncmp(d->d_name, ".del-", 5) == 0 || stale_new(st, d->d_name, now))
			r = ses_tree_remove(st->sessfd, d->d_name, &one);
		if (r != 0 && rc == 0) {
			rc = -1;
			if (e)
				*e = one;
		}
	}
	closedir(dir);
	return rc;
}

int ses_sweep(struct ses_store *st, int64_t now, unsigned *out_swept, struct ses_error *e)
{
	unsigned swept = 0;
	int rc;

	if (flock(st->lockfd, LOCK_EX | LOCK_NB) != 0) {
		if (errno != EWOULDBLOCK)
			return ses_errno_fail(e, errno, "sweep lock", "sweep.lock");
		*out_swept = 0;
		return 0;
	}
	rc = sweep_dir(st, now, &swept, e);
	flock(st->lockfd, LOCK_UN);
	if (rc == 0)
		*out_swept = swept;
	return rc;
}

int ses_each(struct ses_store *st, ses_id_fn fn, void *ctx, struct ses_error *e)
{
	int fd = openat(st->sessfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	struct dirent *d;
	DIR *dir;
	int rc = 0;

	if (fd < 0 || !(dir = fdopendir(fd))) {
		if (fd >= 0)
			close(fd);
		return ses_errno_fail(e, errno, "list", "sessions");
	}
	while (rc == 0 && (d = readdir(dir)))
		if (ses_id_valid(d->d_name))
			rc = fn(d->d_name, ctx);
	closedir(dir);
	return rc;
}

/* flock with a deadline: LOCK_NB polled every 10 ms (flock has no timeout). */
static int lock_within(int fd, unsigned timeout_ms)
{
	struct timespec tick = { 0, 10 * 1000 * 1000 };

	for (unsigned waited = 0;; waited += 10) {
		if (flock(fd, LOCK_EX | LOCK_NB) == 0)
			return 0;
		if (errno != EWOULDBLOCK && errno != EINTR)
			return -1;
		if (waited >= timeout_ms) {
			errno = ETIMEDOUT;
			return -1;
		}
		nanosleep(&tick, NULL);
	}
}

int ses_delete_wait(struct ses_store *st, const char *id, unsigned timeout_ms, bool *out_waited,
                    struct ses_error *e)
{
	char trash[2 * SES_ID_LEN + 16], lockpath[2 * SES_ID_LEN + 24];
	int fd;

	*out_waited = false;
	if (rename_out(st, id, trash, sizeof trash, e) != 0)
		return -1;
	/* Renamed out of sight: a run in progress notices (its session
	 * directory is gone), kills its program and releases the lock. The
	 * tree goes only after that, so the run never copies back into a
	 * half-removed directory; past the deadline it goes anyway. */
	snprintf(lockpath, sizeof lockpath, "%s/lock", trash);
	fd = openat(st->sessfd, lockpath, O_RDWR | O_NOFOLLOW | O_CLOEXEC);
	if (fd >= 0) {
		if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
			*out_waited = true;
			lock_within(fd, timeout_ms);
		}
		close(fd);
	}
	return ses_tree_remove(st->sessfd, trash, e);
}

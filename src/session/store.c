/*
 * store.c - the session store on disk: STATE/sessions/<id>/{meta.json,
 * lock, work/}, created under a temporary name and renamed into place, so a
 * directory named by an id always has its meta.json (docs/SESSIONS.md).
 */
#include "session/ses_private.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

int ses_store_open(const char *state_dir, struct ses_store *out, struct ses_error *e)
{
	int sfd = open(state_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int sess = -1, lock = -1;

	if (sfd < 0)
		return ses_errno_fail(e, errno, "state directory", state_dir);
	if (mkdirat(sfd, "sessions", 0700) != 0 && errno != EEXIST)
		goto fail;
	sess = openat(sfd, "sessions", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (sess < 0)
		goto fail;
	lock = openat(sfd, "sweep.lock", O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (lock < 0)
		goto fail;
	close(sfd);
	out->sessfd = sess;
	out->lockfd = lock;
	return 0;
fail:
	ses_errno_fail(e, errno, "state directory", state_dir);
	if (sess >= 0)
		close(sess);
	close(sfd);
	return -1;
}

void ses_store_close(struct ses_store *st)
{
	if (st->sessfd >= 0)
		close(st->sessfd);
	if (st->lockfd >= 0)
		close(st->lockfd);
	st->sessfd = st->lockfd = -1;
}

void ses_meta_clear(struct ses_meta *m)
{
	json_decref(m->defaults);
	m->defaults = NULL;
}

bool ses_expired(const struct ses_meta *m, int64_t now)
{
	return now >= m->expires_at || now >= m->last_used + (int64_t)m->idle_timeout_s;
}

static int meta_write(int dirfd, const struct ses_meta *m, struct ses_error *e)
{
	json_t *o = json_pack(
	        "{s:i, s:s, s:s, s:I, s:I, s:I, s:I, s:I, s:I, s:O?}", "version", 1, "id", m->id,
	        "template", m->tmpl, "created_at", (json_int_t)m->created_at, "last_used",
	        (json_int_t)m->last_used, "expires_at", (json_int_t)m->expires_at, "idle_timeout_s",
	        (json_int_t)m->idle_timeout_s, "disk_bytes", (json_int_t)m->disk_bytes, "runs",
	        (json_int_t)m->runs, "defaults", m->defaults);
	char *s = o ? json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
	int rc;

	json_decref(o);
	if (!s)
		return ses_fail(e, 500, "session_failure", ENOMEM, "meta.json: out of memory");
	rc = ses_write_at(dirfd, "meta.json", s, strlen(s), 0600, e);
	free(s);
	return rc;
}

static int meta_parse(const char *buf, size_t len, struct ses_meta *out)
{
	json_int_t c, l, x, idle, disk, runs;
	json_t *defaults = NULL;
	const char *id, *tmpl;
	json_t *o = json_loadb(buf, len, JSON_REJECT_DUPLICATES, NULL);
	int rc = -1;

	if (o &&
	    json_unpack(o, "{s:s, s:s, s:I, s:I, s:I, s:I, s:I, s:I, s?o}", "id", &id, "template",
	                &tmpl, "created_at", &c, "last_used", &l, "expires_at", &x,
	                "idle_timeout_s", &idle, "disk_bytes", &disk, "runs", &runs, "defaults",
	                &defaults) == 0 &&
	    ses_id_valid(id) && strlen(tmpl) < sizeof out->tmpl && idle >= 0 && disk >= 0 &&
	    runs >= 0 && idle <= UINT32_MAX) {
		memset(out, 0, sizeof *out);
		snprintf(out->id, sizeof out->id, "%s", id);
		snprintf(out->tmpl, sizeof out->tmpl, "%s", tmpl);
		out->created_at = c;
		out->last_used = l;
		out->expires_at = x;
		out->idle_timeout_s = (uint32_t)idle;
		out->disk_bytes = (uint64_t)disk;
		out->runs = (uint64_t)runs;
		out->defaults = json_incref(json_is_null(defaults) ? NULL : defaults);
		rc = 0;
	}
	json_decref(o);
	return rc;
}

/* Reads <id>/meta.json; -1 with errno (ENOENT, or EINVAL for a bad file). */
static int meta_read(int sessfd, const char *id, struct ses_meta *out)
{
	char path[SES_ID_LEN + 16], buf[SES_META_MAX];
	size_t len = 0;
	ssize_t n;
	int fd;

	snprintf(path, sizeof path, "%s/meta.json", id);
	fd = openat(sessfd, path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		return -1;
	while (len < sizeof buf && (n = read(fd, buf + len, sizeof buf - len)) > 0)
		len += (size_t)n;
	close(fd);
	if (len == sizeof buf || meta_parse(buf, len, out) != 0) {
		errno = EINVAL;
		return -1;
	}
	if (strcmp(out->id, id) != 0) {
		ses_meta_clear(out);
		errno = EINVAL;
		return -1;
	}
	return 0;
}

static int create_dirs(int sessfd, const char *tmp, const struct ses_meta *m, struct ses_error *e)
{
	int dfd, lfd, rc;

	if (mkdirat(sessfd, tmp, 0700) != 0)
		return ses_errno_fail(e, errno, "create session", tmp);
	dfd = openat(sessfd, tmp, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (dfd < 0)
		return ses_errno_fail(e, errno, "create session", tmp);
	struct timespec ts[2] = { { .tv_sec = m->last_used }, { .tv_sec = m->last_used } };

	/* The lock's mtime is the session's last use (touched() below). */
	lfd = openat(dfd, "lock", O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	rc = lfd < 0 || futimens(lfd, ts) != 0 || mkdirat(dfd, "work", 0755) != 0
	             ? ses_errno_fail(e, errno, "create session", tmp)
	             : meta_write(dfd, m, e);
	if (lfd >= 0)
		close(lfd);
	close(dfd);
	return rc;
}

int ses_create(struct ses_store *st, struct ses_meta *meta, uint32_t ttl_s, int64_t now,
               struct ses_error *e)
{
	char tmp[2 * SES_ID_LEN + 16], rnd[SES_ID_LEN + 1];
	bool given = meta->id[0] != '\0';

	if (given && !ses_id_valid(meta->id)) {
		ses_fail(e, 400, "invalid_session_id", EINVAL, "session id: not 32 hex digits");
		if (e)
			snprintf(e->field, sizeof e->field, "session_id");
		return -1;
	}
	if (ses_id_new(given ? rnd : meta->id, e) != 0)
		return -1;
	meta->created_at = meta->last_used = now;
	meta->expires_at = now + ttl_s;
	meta->runs = 0;
	/* A given id may be created twice at once: each creator builds its
	 * own temporary directory, and the rename below picks one. */
	if (given)
		snprintf(tmp, sizeof tmp, ".new-%s-%s", meta->id, rnd);
	else
		snprintf(tmp, sizeof tmp, ".new-%s", meta->id);
	if (create_dirs(st->sessfd, tmp, meta, e) != 0) {
		ses_tree_remove(st->sessfd, tmp, NULL);
		return -1;
	}
	/* RENAME_NOREPLACE: 128 random bits do not collide, but if they ever
	 * did, or a given id is taken, no session is replaced. */
	if (renameat2(st->sessfd, tmp, st->sessfd, meta->id, RENAME_NOREPLACE) != 0) {
		int err = errno;

		ses_tree_remove(st->sessfd, tmp, NULL);
		if (err == EEXIST)
			return ses_fail(e, 409, "session_exists", err, "session '%s' exists already",
			                meta->id);
		return ses_errno_fail(e, err, "create session", meta->id);
	}
	fsync(st->sessfd);
	return 0;
}

/* last_used is the later of meta.json's and the lock file's mtime, which
 * ses_touch() sets: a touch is one utimensat, atomic, and never rewrites
 * meta.json, so a reader touching a session cannot undo a concurrent run's
 * update of meta.json (lost-update race of two read-modify-writes). */
static int64_t touched(struct ses_store *st, const char *id, int64_t last_used)
{
	char path[SES_ID_LEN + 8];
	struct stat sb;

	snprintf(path, sizeof path, "%s/lock", id);
	if (fstatat(st->sessfd, path, &sb, AT_SYMLINK_NOFOLLOW) == 0 && sb.st_mtime > last_used)
		return sb.st_mtime;
	return last_used;
}

int ses_touch(struct ses_store *st, const char *id, int64_t now, struct ses_error *e)
{
	char path[SES_ID_LEN + 8];
	struct timespec ts[2] = { { .tv_sec = now }, { .tv_sec = now } };

	if (!ses_id_valid(id))
		return ses_fail(e, 400, "invalid_session_id", EINVAL, "session id: malformed");
	snprintf(path, sizeof path, "%s/lock", id);
	if (utimensat(st->sessfd, path, ts, AT_SYMLINK_NOFOLLOW) != 0) {
		if (errno == ENOENT)
			return ses_fail(e, 404, "session_not_found", ENOENT,
			                "session '%s' does not exist", id);
		return ses_errno_fail(e, errno, "touch session", id);
	}
	return 0;
}

int ses_load(struct ses_store *st, const char *id, int64_t now, struct ses_meta *out,
             struct ses_error *e)
{
	struct ses_meta m;

	if (!ses_id_valid(id)) {
		ses_fail(e, 400, "invalid_session_id", EINVAL, "session id: not 32 hex digits");
		if (e)
			snprintf(e->field, sizeof e->field, "session_id");
		return -1;
	}
	if (meta_read(st->sessfd, id, &m) != 0) {
		if (errno == ENOENT || errno == ENOTDIR)
			return ses_fail(e, 404, "session_not_found", ENOENT,
			                "session '%s' does not exist", id);
		return ses_errno_fail(e, errno, "meta.json", id);
	}
	m.last_used = touched(st, id, m.last_used);
	if (ses_expired(&m, now)) {
		ses_meta_clear(&m);
		return ses_fail(e, 404, "session_not_found", ENOENT, "session '%s' has expired",
		                id);
	}
	*out = m;
	return 0;
}

int ses_meta_save(struct ses_store *st, const struct ses_meta *meta, struct ses_error *e)
{
	int dfd = openat(st->sessfd, meta->id, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	int rc;

	if (dfd < 0)
		return ses_errno_fail(e, errno, "save session", meta->id);
	rc = meta_write(dfd, meta, e);
	close(dfd);
	return rc;
}

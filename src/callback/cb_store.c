/*
 * cb_store.c - pending callbacks on disk: STATE/callbacks/<run id>.json,
 * written under a temporary name, fsync'ed and renamed into place, so a
 * crash leaves either the old or the new record, never half of one. A
 * deliverer holds flock on the record while it works on it; since a rewrite
 * replaces the inode, a taker checks after locking that the name still names
 * the file it locked (the pattern of src/session/store.c's lock files).
 */
#include "callback/cb_private.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

int cb_store_fail(struct cb_error *e, int err, const char *fmt, ...)
{
	va_list ap;

	if (e) {
		e->err = err;
		va_start(ap, fmt);
		vsnprintf(e->msg, sizeof e->msg, fmt, ap);
		va_end(ap);
	}
	errno = err;
	return -1;
}

bool cb_run_id_valid(const char *id)
{
	size_t n = strspn(id, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-");

	return n > 0 && n <= CB_RUN_ID_MAX && id[n] == '\0';
}

int cb_store_open(const char *state_dir, struct cb_store *out, struct cb_error *e)
{
	int sfd = open(state_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int dfd;

	if (sfd < 0)
		return cb_store_fail(e, errno, "state directory '%s'", state_dir);
	if (mkdirat(sfd, "callbacks", 0700) != 0 && errno != EEXIST) {
		int err = errno;

		close(sfd);
		return cb_store_fail(e, err, "state directory '%s': mkdir callbacks", state_dir);
	}
	dfd = openat(sfd, "callbacks", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	close(sfd);
	if (dfd < 0)
		return cb_store_fail(e, errno, "state directory '%s': callbacks", state_dir);
	out->dirfd = dfd;
	return 0;
}

void cb_store_close(struct cb_store *s)
{
	if (s->dirfd >= 0)
		close(s->dirfd);
	s->dirfd = -1;
}

void cb_record_clear(struct cb_record *r)
{
	free(r->url);
	free(r->body);
	memset(r, 0, sizeof *r);
}

static char *record_dump(const struct cb_record *r)
{
	json_t *o = json_pack("{s:i, s:s, s:s, s:I, s:I, s:i, s:I, s:s%}", "version", 1,
	                      "run_id", r->run_id, "url", r->url,
	                      "created_at", (json_int_t)r->created_at,
	                      "next_at", (json_int_t)r->next_at, "attempts", (int)r->attempts,
	                      "last_status", (json_int_t)r->last_status,
	                      "body", r->body, r->body_len);
	char *s = o ? json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS) : NULL;

	json_decref(o);
	return s;
}

static int record_parse(const char *buf, size_t len, struct cb_record *out)
{
	json_t *o = json_loadb(buf, len, JSON_REJECT_DUPLICATES, NULL);
	json_int_t c, n, st;
	int att, version;
	const char *id, *url, *body;
	size_t blen;
	int rc = -1;

	if (o && json_unpack(o, "{s:i, s:s, s:s, s:I, s:I, s:i, s:I, s:s%}", "version", &version,
	                     "run_id", &id, "url", &url, "created_at", &c, "next_at", &n,
	                     "attempts", &att, "last_status", &st, "body", &body, &blen) == 0 &&
	    version == 1 && cb_run_id_valid(id) && att >= 0 && blen <= CB_BODY_MAX) {
		memset(out, 0, sizeof *out);
		snprintf(out->run_id, sizeof out->run_id, "%s", id);
		out->url = strdup(url);
		out->body = malloc(blen + 1);
		if (out->url && out->body) {
			memcpy(out->body, body, blen);
			out->body[blen] = '\0';
			out->body_len = blen;
			out->created_at = c;
			out->next_at = n;
			out->attempts = (unsigned)att;
			out->last_status = (long)st;
			rc = 0;
		} else {
			cb_record_clear(out);
		}
	}
	json_decref(o);
	return rc;
}

/* A new temporary file with s in it, fsync'ed; its name in tmp. Its
 * mtime is set to the record's next attempt time (Postfix's deferred queue
 * does the same), so that a pass can skip what is not due with one
 * fstatat, without reading bodies of up to CB_BODY_MAX; the JSON's next_at
 * stays the authority once a record is taken. */
static int tmp_write(int dirfd, const char *s, int64_t next_at, char *tmp, size_t tmplen)
{
	const struct timespec times[2] = { { .tv_sec = (time_t)next_at }, { .tv_sec = (time_t)next_at } };
	uint64_t r = 0;
	size_t len = strlen(s), off = 0;
	int fd;

	if (getrandom(&r, sizeof r, 0) != (ssize_t)sizeof r)
		return -1;
	snprintf(tmp, tmplen, CB_TMP_PREFIX "%016" PRIx64, r);
	fd = openat(dirfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return -1;
	while (off < len) {
		ssize_t n = write(fd, s + off, len - off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		off += (size_t)n;
	}
	if (off < len || futimens(fd, times) < 0 || fsync(fd) < 0) {
		int err = off < len && errno == 0 ? EIO : errno;

		close(fd);
		unlinkat(dirfd, tmp, 0);
		errno = err;
		return -1;
	}
	close(fd);
	return 0;
}

/* replace: rename over the old record; else link, which fails with EEXIST
 * when the name exists (one callback per run, and no clobbering). */
static int record_put(int dirfd, const struct cb_record *r, bool replace, struct cb_error *e)
{
	char *s = record_dump(r);
	char tmp[64], name[CB_RUN_ID_MAX + sizeof CB_SUFFIX];
	int rc, err;

	if (!s)
		return cb_store_fail(e, ENOMEM, "callback '%s': encoding (invalid UTF-8 or no memory)", r->run_id);
	snprintf(name, sizeof name, "%s" CB_SUFFIX, r->run_id);
	rc = tmp_write(dirfd, s, r->next_at, tmp, sizeof tmp);
	free(s);
	if (rc < 0)
		return cb_store_fail(e, errno, "callback '%s': write", r->run_id);
	rc = replace ? renameat(dirfd, tmp, dirfd, name) : linkat(dirfd, tmp, dirfd, name, 0);
	err = errno;
	if (!replace || rc < 0)
		unlinkat(dirfd, tmp, 0);
	if (rc < 0)
		return cb_store_fail(e, err, "callback '%s': store", r->run_id);
	/* The new name must survive a power loss too. */
	fsync(dirfd);
	return 0;
}

int cb_record_save(int dirfd, const struct cb_record *r, struct cb_error *e)
{
	return record_put(dirfd, r, true, e);
}

int cb_enqueue(struct cb_store *s, const char *run_id, const char *url, const char *body,
               size_t len, int64_t now, struct cb_error *e)
{
	struct cb_record r;
	struct cb_url u;
	char why[160];

	if (!run_id || !cb_run_id_valid(run_id))
		return cb_store_fail(e, EINVAL, "invalid run id");
	if (cb_url_parse(url, &u, why, sizeof why) < 0)
		return cb_store_fail(e, EINVAL, "invalid callback_url: %s", why);
	if (len > CB_BODY_MAX)
		return cb_store_fail(e, EFBIG, "callback body of run '%s' too large", run_id);
	memset(&r, 0, sizeof r);
	snprintf(r.run_id, sizeof r.run_id, "%s", run_id);
	r.url = (char *)url;
	r.body = (char *)body;
	r.body_len = len;
	r.created_at = r.next_at = now;
	return record_put(s->dirfd, &r, false, e);
}

static int read_all(int fd, struct cb_record *out)
{
	struct stat st;
	char *buf;
	size_t off = 0;
	int rc;

	if (fstat(fd, &st) < 0)
		return -1;
	if (!S_ISREG(st.st_mode) || st.st_size > (off_t)CB_BODY_MAX * 7 + 65536) {
		errno = EINVAL;   /* a body of control characters escapes to 6x */
		return -1;
	}
	buf = malloc((size_t)st.st_size + 1);
	if (!buf)
		return -1;
	while (off < (size_t)st.st_size) {
		ssize_t n = read(fd, buf + off, (size_t)st.st_size - off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		off += (size_t)n;
	}
	rc = record_parse(buf, off, out);
	free(buf);
	if (rc < 0)
		errno = EINVAL;
	return rc;
}

int cb_record_take(int dirfd, const char *name, int *lockfd, struct cb_record *out)
{
	int fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
	struct stat a, b;

	if (fd < 0)
		return errno == ENOENT ? 0 : -1;
	if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		int err = errno;

		close(fd);
		errno = err;
		return err == EWOULDBLOCK ? 0 : -1;
	}
	/* Rewritten or removed by the deliverer that held it before us. */
	if (fstat(fd, &a) < 0 || fstatat(dirfd, name, &b, AT_SYMLINK_NOFOLLOW) < 0 ||
	    a.st_ino != b.st_ino || a.st_dev != b.st_dev) {
		close(fd);
		return 0;
	}
	if (read_all(fd, out) < 0) {
		int err = errno;

		close(fd);
		errno = err;
		return -1;
	}
	*lockfd = fd;
	return 1;
}

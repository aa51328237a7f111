/*
 * cb_pump.c - delivering what is due: one attempt per pending callback,
 * exponential backoff after a failure, given up after max_attempts or
 * max_age_s. Every attempt and every give-up is one log event (run id, URL
 * host, status, attempt), never the body.
 */
#include "callback/cb_private.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define CB_TMP_MAX_AGE_S 3600   /* a temporary file older than this was orphaned by a crash */

uint64_t cb_backoff_s(const struct cb_config *c, unsigned failures)
{
	uint64_t d = c->backoff_base_s;

	for (unsigned i = 1; i < failures && d < c->backoff_max_s; i++)
		d = d > UINT64_MAX / 2 ? UINT64_MAX : d * 2;
	return d < c->backoff_max_s ? d : c->backoff_max_s;
}

static void log_attempt(const struct cb_config *c, const struct cb_record *r, const char *level,
                        const char *event, long status, const char *detail)
{
	struct cb_url u;
	json_t *f;

	if (!c->log)
		return;
	f = json_pack("{s:s, s:s, s:i, s:I, s:i}", "run_id", r->run_id,
	              "url_host", cb_url_parse(r->url, &u, NULL, 0) == 0 ? u.host : "(invalid)",
	              "port", cb_url_parse(r->url, &u, NULL, 0) == 0 ? (int)u.port : 0,
	              "status", (json_int_t)status, "attempt", (int)r->attempts);
	if (f && detail && *detail)
		json_object_set_new(f, "detail", json_string(detail));
	c->log(level, event, f);
}

static bool is_record(const char *name)
{
	size_t n = strlen(name), sl = strlen(CB_SUFFIX);
	char id[CB_RUN_ID_MAX + 1];

	if (n <= sl || n - sl > CB_RUN_ID_MAX || strcmp(name + n - sl, CB_SUFFIX) != 0)
		return false;
	memcpy(id, name, n - sl);
	id[n - sl] = '\0';
	return cb_run_id_valid(id);
}

/* A record we cannot parse would be retried (and logged) forever: set it
 * aside as NAME.bad for the operator. */
static void quarantine(struct cb_store *s, const struct cb_config *c, const char *name)
{
	char bad[CB_RUN_ID_MAX + 16];

	snprintf(bad, sizeof bad, "%s.bad", name);
	renameat(s->dirfd, name, s->dirfd, bad);
	if (c->log)
		c->log("error", "sandbox.callback.unreadable",
		       json_pack("{s:s, s:s, s:s}", "file", name, "moved_to", bad,
		                 "message", strerror(errno)));
}

/* After one attempt: remove (delivered or given up) or reschedule. Still
 * under the record's lock. */
static int settle(struct cb_store *s, const struct cb_config *c, struct cb_record *r,
                  long status, const char *detail, int64_t now)
{
	char name[CB_RUN_ID_MAX + sizeof CB_SUFFIX];
	struct cb_error e;

	snprintf(name, sizeof name, "%s" CB_SUFFIX, r->run_id);
	r->attempts++;
	r->last_status = status;
	if (status >= 200 && status < 300) {
		log_attempt(c, r, "info", "sandbox.callback.delivered", status, detail);
		return unlinkat(s->dirfd, name, 0);
	}
	r->next_at = now + (int64_t)cb_backoff_s(c, r->attempts);
	if (r->attempts >= c->max_attempts || r->next_at > r->created_at + (int64_t)c->max_age_s) {
		log_attempt(c, r, "error", "sandbox.callback.gave_up", status, detail);
		return unlinkat(s->dirfd, name, 0);
	}
	log_attempt(c, r, "warning", "sandbox.callback.failed", status, detail);
	if (cb_record_save(s->dirfd, r, &e) < 0 && c->log)
		c->log("error", "sandbox.callback.store_failed",
		       json_pack("{s:s, s:s}", "run_id", r->run_id, "message", e.msg));
	return 0;
}

/* 1: an attempt was made (and *ok says whether it delivered), 0: nothing
 * to do with this entry. */
static int try_one(struct cb_store *s, const struct cb_config *c, const char *name, int64_t now,
                   bool *ok)
{
	struct cb_record r;
	char detail[256];
	long status;
	int lockfd = -1;
	int t;

	memset(&r, 0, sizeof r);
	t = cb_record_take(s->dirfd, name, &lockfd, &r);
	if (t < 0) {
		quarantine(s, c, name);
		return 0;
	}
	if (t == 0)
		return 0;
	if (r.next_at > now) {
		cb_record_clear(&r);
		close(lockfd);
		return 0;
	}
	status = cb_http_post(c, &r, now, detail, sizeof detail);
	*ok = status >= 200 && status < 300;
	settle(s, c, &r, status, detail, now);
	cb_record_clear(&r);
	close(lockfd);   /* releases the flock */
	return 1;
}

/* Due by the record's mtime (its next_at, cb_store.c): what is not due is
 * skipped without opening it. */
static bool due(struct cb_store *s, const char *name, int64_t now)
{
	struct stat st;

	return fstatat(s->dirfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 && (int64_t)st.st_mtime <= now;
}

static void sweep_tmp(struct cb_store *s, const char *name, int64_t now)
{
	struct stat st;

	if (fstatat(s->dirfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
	    now - (int64_t)st.st_mtime > CB_TMP_MAX_AGE_S)
		unlinkat(s->dirfd, name, 0);
}

int cb_pump(struct cb_store *s, const struct cb_config *c, int64_t now, unsigned max,
            unsigned *delivered, struct cb_error *e)
{
	int fd = openat(s->dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
	struct dirent *de;
	unsigned tries = 0, ok_n = 0;

	if (!d) {
		if (fd >= 0)
			close(fd);
		return cb_store_fail(e, errno, "callbacks directory");
	}
	while (tries < max && (de = readdir(d)) != NULL) {
		bool ok = false;

		if (strncmp(de->d_name, CB_TMP_PREFIX, strlen(CB_TMP_PREFIX)) == 0)
			sweep_tmp(s, de->d_name, now);
		else if (is_record(de->d_name) && due(s, de->d_name, now) &&
		         try_one(s, c, de->d_name, now, &ok) == 1) {
			tries++;
			ok_n += ok;
		}
	}
	closedir(d);
	if (delivered)
		*delivered = ok_n;
	return 0;
}

int64_t cb_next_due(struct cb_store *s, int64_t now)
{
	int fd = openat(s->dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
	struct dirent *de;
	int64_t best = -1;

	if (!d) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	while ((de = readdir(d)) != NULL) {
		struct stat st;
		int64_t wait;

		if (!is_record(de->d_name) ||
		    fstatat(s->dirfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
			continue;
		wait = (int64_t)st.st_mtime > now ? (int64_t)st.st_mtime - now : 0;
		if (best < 0 || wait < best)
			best = wait;
	}
	closedir(d);
	return best;
}

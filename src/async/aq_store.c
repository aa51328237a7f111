/*
 * aq_store.c - asynchronous runs on disk (layout: async.h). Every change a
 * reader may see is one rename (a run directory made whole, a state file
 * rewritten, a queue entry claimed), so a crash leaves either the old or
 * the new form and the sweep finishes what was half done.
 */
#include "async/async.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

static int fail(struct aq_error *e, int status, const char *code, const char *fmt, ...)
        __attribute__((format(printf, 4, 5)));
static int fail(struct aq_error *e, int status, const char *code, const char *fmt, ...)
{
	va_list ap;

	if (e) {
		e->status = status;
		snprintf(e->code, sizeof e->code, "%s", code);
		va_start(ap, fmt);
		vsnprintf(e->msg, sizeof e->msg, fmt, ap);
		va_end(ap);
	}
	return -1;
}

static int sys_fail(struct aq_error *e, const char *what, const char *id)
{
	int err = errno;

	return fail(e, 500, "async_failure", "%s %s: %s", what, id, strerror(err));
}

static int open_sub(int dfd, const char *name)
{
	if (mkdirat(dfd, name, 0700) != 0 && errno != EEXIST)
		return -1;
	return openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
}

int aq_open(const char *state_dir, unsigned async_slots, unsigned wait_slots,
            struct aq_store *out, struct aq_error *e)
{
	int sfd = open(state_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	memset(out, 0, sizeof *out);
	out->runsfd = out->queuefd = out->runningfd = out->slotsfd = -1;
	if (sfd < 0)
		return sys_fail(e, "state directory", state_dir);
	out->runsfd = open_sub(sfd, "runs");
	close(sfd);
	if (out->runsfd < 0 || (out->queuefd = open_sub(out->runsfd, "queue")) < 0 ||
	    (out->runningfd = open_sub(out->runsfd, "running")) < 0 ||
	    (out->slotsfd = open_sub(out->runsfd, "slots")) < 0) {
		sys_fail(e, "state directory", state_dir);
		aq_close(out);
		return -1;
	}
	out->async_slots = async_slots;
	out->wait_slots = wait_slots;
	return 0;
}

void aq_close(struct aq_store *st)
{
	int *fds[] = { &st->runsfd, &st->queuefd, &st->runningfd, &st->slotsfd };

	for (size_t i = 0; i < sizeof fds / sizeof fds[0]; i++) {
		if (*fds[i] >= 0)
			close(*fds[i]);
		*fds[i] = -1;
	}
}

/* Writes buf to a temp file in dfd, fsyncs it and renames it over name
 * (the pattern of src/session's ses_write_at). */
static int write_at(int dfd, const char *name, const void *buf, size_t len)
{
	char tmp[96];
	const char *p = buf;
	int fd, rc = -1, err;

	if (aq_id_new(tmp + 5) != 0)
		return -1;
	memcpy(tmp, ".tmp-", 5);
	fd = openat(dfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return -1;
	while (len > 0) {
		ssize_t n = write(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			goto out;
		p += n;
		len -= (size_t)n;
	}
	if (fsync(fd) == 0 && renameat(dfd, tmp, dfd, name) == 0)
		rc = 0;
out:
	err = errno;
	close(fd);
	if (rc != 0)
		unlinkat(dfd, tmp, 0);
	errno = err;
	return rc;
}

static int read_at(int dfd, const char *name, size_t max, char **out, size_t *outlen)
{
	int fd = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	struct stat sb;
	char *buf;
	size_t len = 0;
	ssize_t n;

	if (fd < 0)
		return -1;
	if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode) || (uint64_t)sb.st_size > max) {
		close(fd);
		errno = EINVAL;
		return -1;
	}
	buf = malloc((size_t)sb.st_size + 1);
	if (!buf) {
		close(fd);
		return -1;
	}
	while (len < (size_t)sb.st_size && (n = read(fd, buf + len, (size_t)sb.st_size - len)) > 0)
		len += (size_t)n;
	close(fd);
	buf[len] = '\0';
	*out = buf;
	*outlen = len;
	return 0;
}

static int state_write(int dfd, const struct aq_state *run)
{
	char *s = aq_state_dump(run);
	int rc;

	if (!s) {
		errno = ENOMEM;
		return -1;
	}
	rc = write_at(dfd, "state.json", s, strlen(s));
	free(s);
	return rc;
}

static int state_read(int dfd, struct aq_state *out)
{
	char *buf;
	size_t len;
	int rc;

	if (read_at(dfd, "state.json", AQ_STATE_MAX, &buf, &len) != 0)
		return -1;
	rc = aq_state_parse(buf, len, out);
	free(buf);
	if (rc != 0)
		errno = EINVAL;
	return rc;
}

static int run_dir(struct aq_store *st, const char *id)
{
	return openat(st->runsfd, id, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
}

/* Removes a run directory (files only: a run has no subdirectory). */
static void remove_dir(int parent, const char *name)
{
	int dfd = openat(parent, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	DIR *d;
	struct dirent *de;

	if (dfd >= 0 && (d = fdopendir(dfd))) {
		while ((de = readdir(d)))
			if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
				unlinkat(dirfd(d), de->d_name, 0);
		closedir(d);
	} else if (dfd >= 0) {
		close(dfd);
	}
	unlinkat(parent, name, AT_REMOVEDIR);
}

static int make_run(int dfd, const struct aq_state *run, const char *req, size_t len)
{
	int fd = openat(dfd, "lock", O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);

	if (fd < 0)
		return -1;
	close(fd);
	if (mkfifoat(dfd, "cancel", 0600) != 0 || write_at(dfd, "request.json", req, len) != 0 ||
	    state_write(dfd, run) != 0)
		return -1;
	return 0;
}

int aq_prepare(struct aq_store *st, struct aq_state *run, uint64_t created_ns,
               const char *request_json, size_t len, struct aq_error *e)
{
	char tmp[AQ_ID_MAX + 48], rnd[33];
	int dfd, rc;

	if (aq_key_make(created_ns, run->id, run->key, sizeof run->key) != 0)
		return fail(e, 400, "invalid_id", "invalid run id");
	run->status = AQ_QUEUED;
	run->started_ms = run->finished_ms = 0;
	if (aq_id_new(rnd) != 0)
		return sys_fail(e, "random", "id");
	snprintf(tmp, sizeof tmp, ".new-%s-%.8s", run->id, rnd);
	if (mkdirat(st->runsfd, tmp, 0700) != 0)
		return sys_fail(e, "create run", run->id);
	dfd = openat(st->runsfd, tmp, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	rc = dfd < 0 ? -1 : make_run(dfd, run, request_json, len);
	if (rc == 0)
		fsync(dfd);
	if (dfd >= 0)
		close(dfd);
	if (rc != 0) {
		sys_fail(e, "create run", run->id);
		remove_dir(st->runsfd, tmp);
		return -1;
	}
	/* RENAME_NOREPLACE: a client id still in use is refused, never replaced. */
	if (renameat2(st->runsfd, tmp, st->runsfd, run->id, RENAME_NOREPLACE) != 0) {
		int err = errno;

		remove_dir(st->runsfd, tmp);
		errno = err;
		if (err == EEXIST || err == ENOTEMPTY)
			return fail(e, 409, "run_exists", "a run with id '%s' exists", run->id);
		return sys_fail(e, "create run", run->id);
	}
	fsync(st->runsfd);
	return 0;
}

/* The queue entry last: the run is whole before anyone can claim it. */
int aq_enqueue(struct aq_store *st, const struct aq_state *run, struct aq_error *e)
{
	int fd = openat(st->queuefd, run->key, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
	                0600);

	if (fd < 0)
		return sys_fail(e, "queue run", run->id);
	close(fd);
	fsync(st->queuefd);
	return 0;
}

void aq_discard(struct aq_store *st, const char *id)
{
	char del[AQ_ID_MAX + 48], rnd[33];

	/* Renamed out of sight first, as the sweep does. */
	if (!aq_id_valid(id) || aq_id_new(rnd) != 0)
		return;
	snprintf(del, sizeof del, ".del-%s-%.8s", id, rnd);
	if (renameat(st->runsfd, id, st->runsfd, del) == 0)
		remove_dir(st->runsfd, del);
}

int aq_submit(struct aq_store *st, struct aq_state *run, uint64_t created_ns,
              const char *request_json, size_t len, struct aq_error *e)
{
	if (aq_prepare(st, run, created_ns, request_json, len, e) != 0)
		return -1;
	if (aq_enqueue(st, run, e) != 0) {
		aq_discard(st, run->id);
		return -1;
	}
	return 0;
}

int aq_load(struct aq_store *st, const char *id, struct aq_state *out, struct aq_error *e)
{
	int dfd, rc;

	if (!aq_id_valid(id))
		return fail(e, 400, "invalid_run_id", "run id: 1 to %d of [A-Za-z0-9_-]", AQ_ID_MAX);
	dfd = run_dir(st, id);
	if (dfd < 0) {
		if (errno == ENOENT || errno == ENOTDIR)
			return fail(e, 404, "run_not_found", "run '%s' does not exist", id);
		return sys_fail(e, "open run", id);
	}
	rc = state_read(dfd, out);
	close(dfd);
	if (rc != 0)
		return sys_fail(e, "state of run", id);
	return 0;
}

int aq_save(struct aq_store *st, const struct aq_state *run, struct aq_error *e)
{
	int dfd = run_dir(st, run->id), rc;

	if (dfd < 0)
		return sys_fail(e, "open run", run->id);
	rc = state_write(dfd, run);
	close(dfd);
	return rc != 0 ? sys_fail(e, "save run", run->id) : 0;
}

static int open_in_run(struct aq_store *st, const char *id, const char *name, int flags)
{
	int dfd = run_dir(st, id), fd, err;

	if (dfd < 0)
		return -1;
	fd = openat(dfd, name, flags | O_NOFOLLOW | O_CLOEXEC, 0600);
	err = errno;
	close(dfd);
	errno = err;
	return fd;
}

int aq_result_open(struct aq_store *st, const char *id)
{
	return open_in_run(st, id, "result.json", O_RDONLY | O_NONBLOCK);
}

int aq_result_tmp(struct aq_store *st, const char *id, char *name, size_t len)
{
	char rnd[33];

	if (aq_id_new(rnd) != 0)
		return -1;
	snprintf(name, len, ".result-%s", rnd);
	return open_in_run(st, id, name, O_WRONLY | O_CREAT | O_EXCL);
}

int aq_result_commit(struct aq_store *st, const char *id, int fd, const char *name, bool ok)
{
	int dfd = run_dir(st, id), rc = -1;

	if (ok && fsync(fd) == 0 && dfd >= 0 && renameat(dfd, name, dfd, "result.json") == 0)
		rc = 0;
	close(fd);
	if (rc != 0 && dfd >= 0)
		unlinkat(dfd, name, 0);
	if (dfd >= 0)
		close(dfd);
	return rc;
}

int aq_cancel(struct aq_store *st, const char *id, int64_t now_ms, struct aq_state *out,
              struct aq_error *e)
{
	struct aq_state run;
	int fd;

	if (aq_load(st, id, &run, e) != 0)
		return -1;
	if (aq_status_final(run.status)) {
		*out = run;
		return fail(e, 409, "run_finished", "run '%s' is already %s", id,
		            aq_status_name(run.status));
	}
	/* A queued run is cancelled by whoever removes its queue entry: the
	 * unlink and a claim's rename cannot both succeed. */
	if (unlinkat(st->queuefd, run.key, 0) == 0) {
		run.status = AQ_CANCELLED;
		run.finished_ms = now_ms;
		*out = run;
		return aq_save(st, &run, e);
	}
	/* Running (or claimed a moment ago): the marker first, then the FIFO.
	 * An executor that opens the FIFO after the marker exists sees the
	 * marker; one that opened it before sees the hang-up of our close
	 * (POLLHUP once a writer has come and gone). ENXIO: no reader yet. */
	fd = open_in_run(st, id, "cancel_requested", O_WRONLY | O_CREAT);
	if (fd < 0)
		return sys_fail(e, "cancel run", id);
	close(fd);
	fd = open_in_run(st, id, "cancel", O_WRONLY | O_NONBLOCK);
	if (fd >= 0)
		close(fd);
	*out = run;
	return 0;
}

int aq_slot_take(struct aq_store *st, bool wait)
{
	unsigned n = wait ? st->wait_slots : st->async_slots;
	char name[32];

	for (unsigned i = 0; i < n; i++) {
		int fd;

		snprintf(name, sizeof name, "%s.%u", wait ? "wait" : "async", i);
		fd = openat(st->slotsfd, name, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
		if (fd < 0)
			return -1;
		if (flock(fd, LOCK_EX | LOCK_NB) == 0)
			return fd;
		close(fd);
	}
	return -1;
}

/* The names in dfd that are well-formed keys, sorted; *n of them. */
static char **list_keys(int dfd, size_t *n)
{
	int fd = fcntl(dfd, F_DUPFD_CLOEXEC, 0);
	DIR *d;
	struct dirent *de;
	char **v = NULL;
	size_t cap = 0;

	*n = 0;
	if (fd < 0)
		return NULL;
	if (!(d = fdopendir(fd))) {
		close(fd);
		return NULL;
	}
	rewinddir(d);
	while ((de = readdir(d))) {
		if (!aq_key_id(de->d_name))
			continue;
		if (*n == cap) {
			char **nv = realloc(v, (cap = cap ? 2 * cap : 64) * sizeof *v);

			if (!nv)
				break;
			v = nv;
		}
		if (!(v[*n] = strdup(de->d_name)))
			break;
		(*n)++;
	}
	closedir(d);
	aq_keys_sort(v, *n);
	return v;
}

static void free_keys(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

static int lock_run(struct aq_store *st, const char *id)
{
	int fd = open_in_run(st, id, "lock", O_RDWR);

	if (fd >= 0 && flock(fd, LOCK_EX | LOCK_NB) != 0) {
		close(fd);
		fd = -1;
	}
	return fd;
}

int aq_claim_next(struct aq_store *st, struct aq_claim *c)
{
	size_t n;
	char **keys = list_keys(st->queuefd, &n);
	int rc = 0;

	for (size_t i = 0; i < n && rc == 0; i++) {
		const char *id = aq_key_id(keys[i]);
		/* The run's lock before the move: a sweep that finds running/<key>
		 * with its lock free knows the executor is gone. */
		int lfd = lock_run(st, id);

		if (lfd < 0)
			continue;
		if (renameat(st->queuefd, keys[i], st->runningfd, keys[i]) != 0) {
			close(lfd);   /* cancelled or claimed meanwhile */
			continue;
		}
		snprintf(c->key, sizeof c->key, "%s", keys[i]);
		snprintf(c->id, sizeof c->id, "%s", id);
		c->lockfd = lfd;
		rc = 1;
	}
	free_keys(keys, n);
	return rc;
}

void aq_claim_done(struct aq_store *st, struct aq_claim *c)
{
	unlinkat(st->runningfd, c->key, 0);
	if (c->lockfd >= 0)
		close(c->lockfd);
	c->lockfd = -1;
}

int aq_requeue(struct aq_store *st, struct aq_claim *c)
{
	int rc = renameat(st->runningfd, c->key, st->queuefd, c->key);

	if (rc == 0)
		fsync(st->queuefd);
	if (c->lockfd >= 0)
		close(c->lockfd);
	c->lockfd = -1;
	return rc;
}

int aq_events_open(struct aq_store *st, const char *id, bool write)
{
	return open_in_run(st, id, "events.ndjson",
	                   write ? O_WRONLY | O_CREAT | O_APPEND : O_RDONLY | O_NONBLOCK);
}

int aq_request_read(struct aq_store *st, const char *id, size_t max, char **out, size_t *len)
{
	int dfd = run_dir(st, id), rc;

	if (dfd < 0)
		return -1;
	rc = read_at(dfd, "request.json", max, out, len);
	close(dfd);
	return rc;
}

int aq_cancel_fd(struct aq_store *st, const char *id)
{
	return open_in_run(st, id, "cancel", O_RDONLY | O_NONBLOCK);
}

bool aq_cancel_requested(struct aq_store *st, const char *id)
{
	int dfd = run_dir(st, id);
	bool yes;

	if (dfd < 0)
		return false;
	yes = faccessat(dfd, "cancel_requested", F_OK, AT_SYMLINK_NOFOLLOW) == 0;
	close(dfd);
	return yes;
}

static size_t count_keys(int dfd)
{
	size_t n = 0;
	char **keys = list_keys(dfd, &n);

	free_keys(keys, n);
	return n;
}

void aq_counts(struct aq_store *st, size_t *queued, size_t *running)
{
	*queued = count_keys(st->queuefd);
	*running = count_keys(st->runningfd);
}

/* A running/<key> whose lock nobody holds: its executor died (a restart,
 * a crash). The run is failed with that reason, never silently dropped. */
static int sweep_running(struct aq_store *st, int64_t now_ms, aq_sweep_fn fn, void *ctx)
{
	size_t n;
	char **keys = list_keys(st->runningfd, &n);
	int changed = 0;

	for (size_t i = 0; i < n; i++) {
		const char *id = aq_key_id(keys[i]);
		struct aq_state run;
		int lfd = lock_run(st, id);

		if (lfd < 0)
			continue;   /* held: being run */
		/* Still there under the lock (not finished a moment ago)? */
		if (faccessat(st->runningfd, keys[i], F_OK, AT_SYMLINK_NOFOLLOW) == 0 &&
		    aq_load(st, id, &run, NULL) == 0 && !aq_status_final(run.status)) {
			run.status = AQ_FAILED;
			run.finished_ms = now_ms;
			snprintf(run.error_code, sizeof run.error_code, "interrupted");
			snprintf(run.error_msg, sizeof run.error_msg, "the responder executing the run "
			         "stopped (a restart or a crash of the pool) before it finished");
			if (aq_save(st, &run, NULL) == 0) {
				changed++;
				if (fn)
					fn("interrupted", &run, ctx);
			}
		}
		unlinkat(st->runningfd, keys[i], 0);
		close(lfd);
	}
	free_keys(keys, n);
	return changed;
}

static bool stale(int dfd, const char *name, int64_t now_ms)
{
	struct stat sb;

	return fstatat(dfd, name, &sb, AT_SYMLINK_NOFOLLOW) == 0 &&
	       (int64_t)sb.st_mtime * 1000 + AQ_STALE_MS < now_ms;
}

static bool in_dir(int dfd, const char *key)
{
	return faccessat(dfd, key, F_OK, AT_SYMLINK_NOFOLLOW) == 0;
}

/* One run directory: expired results removed; a run that says queued but
 * has no queue entry (a crash between the rename and the entry) failed. */
static int sweep_one(struct aq_store *st, const char *name, int64_t now_ms, uint64_t retention_ms,
                     aq_sweep_fn fn, void *ctx)
{
	struct aq_state run;
	char del[AQ_ID_MAX + 48], rnd[33];

	if (name[0] == '.') {
		if ((strncmp(name, ".new-", 5) == 0 || strncmp(name, ".del-", 5) == 0) &&
		    stale(st->runsfd, name, now_ms)) {
			remove_dir(st->runsfd, name);
			return 1;
		}
		return 0;
	}
	if (!aq_id_valid(name) || aq_load(st, name, &run, NULL) != 0)
		return 0;
	if (aq_status_final(run.status)) {
		if (run.finished_ms + (int64_t)retention_ms > now_ms || aq_id_new(rnd) != 0)
			return 0;
		snprintf(del, sizeof del, ".del-%s-%.8s", name, rnd);
		if (renameat(st->runsfd, name, st->runsfd, del) != 0)
			return 0;
		if (fn)
			fn("removed", &run, ctx);
		remove_dir(st->runsfd, del);
		return 1;
	}
	if (run.status == AQ_QUEUED && !in_dir(st->queuefd, run.key) &&
	    !in_dir(st->runningfd, run.key) && run.created_ms + AQ_STALE_MS < now_ms) {
		run.status = AQ_FAILED;
		run.finished_ms = now_ms;
		snprintf(run.error_code, sizeof run.error_code, "interrupted");
		snprintf(run.error_msg, sizeof run.error_msg, "the run was accepted but its queue "
		         "entry was lost (a crash while it was being queued)");
		if (aq_save(st, &run, NULL) == 0 && fn)
			fn("interrupted", &run, ctx);
		return 1;
	}
	return 0;
}

int aq_sweep(struct aq_store *st, int64_t now_ms, uint64_t retention_ms, aq_sweep_fn fn, void *ctx)
{
	int lfd = openat(st->runsfd, "sweep.lock", O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
	int changed = 0, dfd;
	DIR *d;
	struct dirent *de;

	if (lfd < 0)
		return -1;
	if (flock(lfd, LOCK_EX | LOCK_NB) != 0) {
		close(lfd);
		return 0;
	}
	changed += sweep_running(st, now_ms, fn, ctx);
	if ((dfd = fcntl(st->runsfd, F_DUPFD_CLOEXEC, 0)) >= 0 && (d = fdopendir(dfd))) {
		rewinddir(d);
		while ((de = readdir(d)))
			if (strcmp(de->d_name, ".") && strcmp(de->d_name, "..") &&
			    strcmp(de->d_name, "queue") && strcmp(de->d_name, "running") &&
			    strcmp(de->d_name, "slots") && strcmp(de->d_name, "sweep.lock"))
				changed += sweep_one(st, de->d_name, now_ms, retention_ms, fn, ctx);
		closedir(d);
	} else if (dfd >= 0) {
		close(dfd);
	}
	close(lfd);
	return changed;
}

/*
 * reg_watch.h - notices a switched RootFS without rescanning the template
 * registry on every request (issue 13).
 *
 * build-rootfs.sh publishes a version by renaming a new `current` link over
 * the old one inside <base>/<template>/, and a template appears or goes as a
 * directory of <base>. One inotify instance watches <base> and each template
 * directory for exactly those changes. The kernel queues the event before
 * rename(2) returns (fsnotify runs inside the syscall), so a request that
 * starts after a switch has finished finds the event queued and rescans:
 * the guarantee that a new `current` is used from the next request on holds
 * as it did with a rescan per request. The request path pays one
 * non-blocking read(2) when nothing changed.
 */
#ifndef SANDBOX_FCGI_REG_WATCH_H
#define SANDBOX_FCGI_REG_WATCH_H

#include <stdbool.h>

struct reg_watch {
	int fd;       /* inotify, non-blocking; -1: no watch, rescan every time */
	bool stale;   /* rescan at the next check (start, overflow, failed rescan) */
	char *base;
};

/* Opens the watch on base and its template directories. Never fails: without
 * inotify (EMFILE, ENOSYS...) every check reports a change, which is the
 * old behaviour (a rescan per request), and *why says so for the log. */
void regw_open(struct reg_watch *w, const char *base, const char **why);
/* Drains the queued events; true when the registry must be rescanned. Call
 * before the rescan: a switch that lands between this call and the rescan
 * leaves its event queued, so it only costs one more rescan. */
bool regw_changed(struct reg_watch *w);
/* After a rescan: watches the template directories that appeared, and
 * marks the registry stale again when the rescan failed (a malformed new
 * version is retried, and logged, at the next request as before). */
void regw_rescanned(struct reg_watch *w, bool failed);
void regw_close(struct reg_watch *w);

#endif

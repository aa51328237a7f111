/*
 * reg_watch.c - inotify on the RootFS directory (see reg_watch.h).
 */
#include "fcgi/reg_watch.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <unistd.h>

/* A switch renames `current` (IN_MOVED_TO); a first publish creates it; a
 * template or its link may be removed; the watched directory itself may be
 * moved or deleted (then the watch is gone: rescan and watch again). */
#define REGW_DIR_EVENTS (IN_CREATE | IN_DELETE | IN_MOVED_FROM | IN_MOVED_TO | \
                         IN_DELETE_SELF | IN_MOVE_SELF | IN_ONLYDIR | IN_DONT_FOLLOW)

static void regw_add(struct reg_watch *w, const char *path)
{
	/* A directory already watched keeps its watch descriptor: adding
	 * every template directory after each rescan is idempotent. */
	if (inotify_add_watch(w->fd, path, REGW_DIR_EVENTS) < 0 && errno != ENOENT && errno != ENOTDIR)
		w->stale = true;   /* e.g. ENOSPC (max_user_watches): keep rescanning */
}

/* Watches base and every directory in it (not only those with `current`
 * yet: a template being built gets its first `current` later). */
static void regw_sync(struct reg_watch *w)
{
	char path[PATH_MAX];
	struct dirent *de;
	DIR *d;

	regw_add(w, w->base);
	if (!(d = opendir(w->base))) {
		w->stale = true;
		return;
	}
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		if (de->d_type != DT_DIR && de->d_type != DT_UNKNOWN)
			continue;
		if (snprintf(path, sizeof path, "%s/%s", w->base, de->d_name) < (int)sizeof path)
			regw_add(w, path);
	}
	closedir(d);
}

void regw_open(struct reg_watch *w, const char *base, const char **why)
{
	*why = NULL;
	w->stale = true;
	w->base = strdup(base);
	w->fd = w->base ? inotify_init1(IN_NONBLOCK | IN_CLOEXEC) : -1;
	if (w->fd < 0) {
		*why = w->base ? strerror(errno) : "out of memory";
		return;
	}
	regw_sync(w);
}

bool regw_changed(struct reg_watch *w)
{
	/* Aligned as struct inotify_event requires (inotify(7)). */
	char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
	ssize_t n;
	bool changed = w->stale;

	if (w->fd < 0)
		return true;
	while ((n = read(w->fd, buf, sizeof buf)) > 0) {
		/* Every event we asked for means a change; IN_Q_OVERFLOW (some
		 * were lost) and IN_IGNORED (a watch went away) do too. */
		changed = true;
	}
	if (n < 0 && errno != EAGAIN && errno != EINTR)
		changed = true;
	w->stale = false;
	return changed;
}

void regw_rescanned(struct reg_watch *w, bool failed)
{
	if (w->fd >= 0)
		regw_sync(w);
	if (failed)
		w->stale = true;
}

void regw_close(struct reg_watch *w)
{
	if (w->fd >= 0)
		close(w->fd);
	free(w->base);
	w->fd = -1;
	w->base = NULL;
}

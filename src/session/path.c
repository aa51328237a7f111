/*
 * path.c - session ids, client path validation and opening beneath a
 * workspace without following links or crossing mounts (docs/SESSIONS.md,
 * "Host-side file safety").
 */
#include "session/ses_private.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

int ses_use_openat2 = 1;

int ses_fail(struct ses_error *e, int status, const char *code, int err, const char *fmt, ...)
{
	if (e) {
		va_list ap;

		e->status = status;
		snprintf(e->code, sizeof e->code, "%s", code);
		e->field[0] = '\0';
		e->err = err;
		va_start(ap, fmt);
		vsnprintf(e->msg, sizeof e->msg, fmt, ap);
		va_end(ap);
	}
	errno = err;
	return -1;
}

/* Maps the errno of a resolution to what the client did wrong: a link or a
 * mount on the way (ELOOP, EXDEV, ENOTDIR from O_NOFOLLOW|O_DIRECTORY on a
 * link) is refused as such; a missing entry is a 404; the rest is ours. */
int ses_errno_fail(struct ses_error *e, int err, const char *what, const char *rel)
{
	switch (err) {
	case ENOENT:
		return ses_fail(e, 404, "not_found", err, "%s: '%s' does not exist", what, rel);
	case ELOOP:
	case EXDEV:
	case ENOTDIR:
		return ses_fail(e, 403, "unsafe_path", err,
		                "%s: '%s' crosses a symlink, a mount or a non-directory", what,
		                rel);
	case EISDIR:
		return ses_fail(e, 409, "is_directory", err, "%s: '%s' is a directory", what, rel);
	case ENOTEMPTY:
		return ses_fail(e, 409, "not_empty", err, "%s: '%s' is not empty", what, rel);
	case ENOSPC:
	case EDQUOT:
		return ses_fail(e, 413, "quota_exceeded", err, "%s: '%s': no space", what, rel);
	default:
		return ses_fail(e, 500, "session_failure", err, "%s: '%s': %s", what, rel,
		                strerror(err));
	}
}

int ses_id_new(char out[SES_ID_LEN + 1], struct ses_error *e)
{
	static const char hex[] = "0123456789abcdef";
	unsigned char b[SES_ID_BYTES];
	size_t got = 0;

	/* getrandom() without GRND_NONBLOCK: ids must never come from an
	 * unseeded pool; after boot it does not block. */
	while (got < sizeof b) {
		ssize_t n = getrandom(b + got, sizeof b - got, 0);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return ses_fail(e, 500, "session_failure", errno, "getrandom: %s",
			                strerror(errno));
		got += (size_t)n;
	}
	for (size_t i = 0; i < sizeof b; i++) {
		out[2 * i] = hex[b[i] >> 4];
		out[2 * i + 1] = hex[b[i] & 15];
	}
	out[SES_ID_LEN] = '\0';
	return 0;
}

bool ses_id_valid(const char *s)
{
	size_t i;

	if (!s)
		return false;
	for (i = 0; s[i]; i++)
		if (i >= SES_ID_LEN ||
		    !((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	return i == SES_ID_LEN;
}

static int path_bad(struct ses_error *e, const char *why)
{
	ses_fail(e, 400, "invalid_path", EINVAL, "path: %s", why);
	if (e)
		snprintf(e->field, sizeof e->field, "path");
	return -1;
}

/* Checks one component of [s, s + n). */
static int path_component(const char *s, size_t n, struct ses_error *e)
{
	if (!n)
		return path_bad(e, "empty component (leading, trailing or double '/')");
	if (n > SES_NAME_MAX)
		return path_bad(e, "component longer than 255 bytes");
	if ((n == 1 && s[0] == '.') || (n == 2 && s[0] == '.' && s[1] == '.'))
		return path_bad(e, "'.' and '..' are not allowed");
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			return path_bad(e, "control character");
	return 0;
}

int ses_path_check(const char *rel, size_t len, struct ses_error *e)
{
	size_t start = 0;
	unsigned depth = 0;

	if (!rel || !len)
		return path_bad(e, "empty");
	if (len > SES_PATH_MAX)
		return path_bad(e, "longer than 1024 bytes");
	if (memchr(rel, '\0', len))
		return path_bad(e, "contains NUL");
	if (rel[0] == '/')
		return path_bad(e, "absolute");
	for (size_t i = 0; i <= len; i++) {
		if (i < len && rel[i] != '/')
			continue;
		if (++depth > SES_DEPTH_MAX)
			return path_bad(e, "more than 32 components");
		if (path_component(rel + start, i - start, e) != 0)
			return -1;
		start = i + 1;
	}
	return 0;
}

/* Mount identity of fd: the mount id where statx has it (catches a bind
 * mount of the same filesystem), the device otherwise. */
static int mnt_of(int fd, uint64_t *out)
{
	struct statx sx;

	if (statx(fd, "", AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW, STATX_MNT_ID, &sx) != 0)
		return -1;
	if (sx.stx_mask & STATX_MNT_ID)
		*out = sx.stx_mnt_id;
	else
		*out = ((uint64_t)sx.stx_dev_major << 32) | sx.stx_dev_minor;
	return 0;
}

/* One step of the walk: name beneath dirfd, no link, same mount. */
static int walk_step(int dirfd, const char *name, int flags, uint64_t mnt)
{
	uint64_t m;
	int fd = openat(dirfd, name, flags | O_NOFOLLOW | O_CLOEXEC, 0);

	if (fd < 0)
		return -1;
	if (mnt_of(fd, &m) != 0 || m != mnt) {
		int err = errno;

		close(fd);
		errno = m != mnt ? EXDEV : err;
		return -1;
	}
	return fd;
}

int ses_open_walk(int wsfd, const char *rel, int flags, struct ses_error *e)
{
	char name[SES_NAME_MAX + 1];
	const char *p = rel;
	uint64_t mnt;
	int cur = -1;

	if (mnt_of(wsfd, &mnt) != 0)
		return ses_errno_fail(e, errno, "open", rel);
	for (;;) {
		const char *slash = strchr(p, '/');
		size_t n = slash ? (size_t)(slash - p) : strlen(p);
		int next;

		memcpy(name, p, n);
		name[n] = '\0';
		/* O_PATH|O_DIRECTORY|O_NOFOLLOW on a symlink fails ENOTDIR. */
		next = walk_step(cur < 0 ? wsfd : cur, name, slash ? O_PATH | O_DIRECTORY : flags,
		                 mnt);
		if (cur >= 0)
			close(cur);
		if (next < 0)
			return ses_errno_fail(e, errno, "open", rel);
		if (!slash)
			return next;
		cur = next;
		p = slash + 1;
	}
}

static long sys_openat2(int dirfd, const char *path, int flags, mode_t mode)
{
	struct open_how how = {
		.flags = (uint64_t)flags,
		.mode = (flags & (O_CREAT | O_TMPFILE)) ? mode : 0,
		.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_XDEV |
		           RESOLVE_NO_MAGICLINKS,
	};

	return syscall(SYS_openat2, dirfd, path, &how, sizeof how);
}

int ses_open_beneath(int wsfd, const char *rel, int flags, struct ses_error *e)
{
	flags |= O_CLOEXEC | O_NOFOLLOW;
	if (ses_use_openat2) {
		long fd;

		/* EAGAIN: a rename raced the lookup (RESOLVE_BENEATH's check);
		 * retry a bounded number of times rather than fail a client. */
		for (int i = 0; i < 8; i++) {
			fd = sys_openat2(wsfd, rel, flags, 0);
			if (fd >= 0 || errno != EAGAIN)
				break;
		}
		if (fd >= 0)
			return (int)fd;
		if (errno != ENOSYS)
			return ses_errno_fail(e, errno, "open", rel);
	}
	return ses_open_walk(wsfd, rel, flags, e);
}

/* mkdir (when create) and open one directory component beneath dirfd. */
static int parent_step(int dirfd, const char *name, bool create, const char *rel,
                       struct ses_error *e)
{
	if (create && mkdirat(dirfd, name, 0755) != 0 && errno != EEXIST)
		return ses_errno_fail(e, errno, "mkdir", rel);
	/* O_RDONLY rather than O_PATH: the writer fsyncs this directory. */
	return ses_open_beneath(dirfd, name, O_RDONLY | O_DIRECTORY, e);
}

int ses_open_parent(int wsfd, const char *rel, bool create, const char **out_leaf,
                    struct ses_error *e)
{
	char name[SES_NAME_MAX + 1];
	const char *p = rel;
	int cur = fcntl(wsfd, F_DUPFD_CLOEXEC, 3);

	if (cur < 0)
		return ses_errno_fail(e, errno, "dup", rel);
	for (const char *slash; (slash = strchr(p, '/')); p = slash + 1) {
		size_t n = (size_t)(slash - p);
		int next;

		memcpy(name, p, n);
		name[n] = '\0';
		next = parent_step(cur, name, create, rel, e);
		close(cur);
		if (next < 0)
			return -1;
		cur = next;
	}
	*out_leaf = p;
	return cur;
}

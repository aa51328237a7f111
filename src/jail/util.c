/* util.c - small helpers of the jail: errors, fds, cgroup-style files,
 * clocks, child processes. */
#include "jail/jail_private.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

int util_fail(struct jail_error *e, const char *step, int err, const char *fmt, ...)
{
	if (e) {
		snprintf(e->step, sizeof e->step, "%s", step);
		e->err = err;
		e->detail[0] = '\0';
		if (fmt) {
			va_list ap;
			va_start(ap, fmt);
			vsnprintf(e->detail, sizeof e->detail, fmt, ap);
			va_end(ap);
		}
	}
	errno = err;
	return -1;
}

int fd_close(int fd)
{
	if (fd >= 0) {
		int saved = errno;
		close(fd);
		errno = saved;
	}
	return -1;
}

/* Pipes whose ends are never 0, 1 or 2: the program's stdio is made with
 * dup2() onto those numbers, and a pipe end already sitting there would be
 * clobbered (a responder started with closed stdio gets low numbers). */
int fd_pipe(int fds[2], int flags)
{
	if (pipe2(fds, O_CLOEXEC | flags) < 0)
		return -1;
	for (int i = 0; i < 2; i++) {
		if (fds[i] < 3) {
			int n = fcntl(fds[i], F_DUPFD_CLOEXEC, 3);
			if (n < 0) {
				fd_close(fds[0]);
				fd_close(fds[1]);
				return -1;
			}
			close(fds[i]);
			fds[i] = n;
		}
	}
	return 0;
}

int file_write_str(const char *path, const char *s, struct jail_error *e, const char *step)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return util_fail(e, step, errno, "open %s", path);
	size_t len = strlen(s);
	ssize_t n = write(fd, s, len);
	int err = errno;
	close(fd);
	if (n != (ssize_t)len)
		return util_fail(e, step, n < 0 ? err : EIO, "write '%s' to %s", s, path);
	return 0;
}

static ssize_t read_small(int dirfd, const char *name, char *buf, size_t size)
{
	int fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return -1;
	ssize_t n = pread(fd, buf, size - 1, 0);
	close(fd);
	if (n < 0)
		return -1;
	buf[n] = '\0';
	return n;
}

int file_read_u64(int dirfd, const char *name, uint64_t *out)
{
	char buf[64];
	if (read_small(dirfd, name, buf, sizeof buf) < 0)
		return -1;
	char *end;
	errno = 0;
	unsigned long long v = strtoull(buf, &end, 10);
	if (errno || end == buf)
		return -1;
	*out = v;
	return 0;
}

/* "key value" lines, as in memory.events, cpu.stat, memory.oom_control. */
int file_read_key_u64(int dirfd, const char *name, const char *key, uint64_t *out)
{
	char buf[2048];
	if (read_small(dirfd, name, buf, sizeof buf) < 0)
		return -1;
	size_t klen = strlen(key);
	for (char *line = buf; line && *line; line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL) {
		if (strncmp(line, key, klen) == 0 && line[klen] == ' ') {
			*out = strtoull(line + klen + 1, NULL, 10);
			return 0;
		}
	}
	return -1;
}

uint64_t mono_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

/* Waits for a child of ours to end (__WALL: whatever its exit signal),
 * retried on EINTR so that a caller's signal handler cannot leave the
 * child unreaped. */
void proc_reap(pid_t pid)
{
	while (waitpid(pid, NULL, __WALL) < 0 && errno == EINTR)
		;
}

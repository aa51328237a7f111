/*
 * workdir.c - files into and out of the jail, from the caller's side.
 *
 * Inputs are written into the run's fresh, empty tmpfs before any program
 * runs.  Outputs are read after every process of the jail is dead, but the
 * tree was shaped by untrusted code, so each path is walked one component
 * at a time with O_NOFOLLOW from a directory fd: a symlink, FIFO, device or
 * anything but a regular file or directory is never followed or opened
 * (the Judge0 CVE-2024-28185/28189 class: host-side file access through
 * links planted by the sandboxed program).
 */
#include "jail/jail_private.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#define WD_MAX_DEPTH 16
#define WD_MAX_SCAN 20000        /* directory entries looked at, in all */

/* Opens (creating when asked) each directory of `rel` but the last
 * component, below dirfd, never following a link. Returns an fd owning the
 * parent and sets *leaf to the last component. */
static int wd_walk(int dirfd, char *rel, bool create, uid_t uid, gid_t gid, char **leaf)
{
	int cur = fcntl(dirfd, F_DUPFD_CLOEXEC, 0);
	char *save = NULL;
	char *comp = strtok_r(rel, "/", &save);
	while (cur >= 0 && comp) {
		char *next = strtok_r(NULL, "/", &save);
		if (!next) {
			*leaf = comp;
			return cur;
		}
		if (create && mkdirat(cur, comp, 0755) == 0)
			(void)!fchownat(cur, comp, uid, gid, AT_SYMLINK_NOFOLLOW);
		int nfd = openat(cur, comp, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		close(cur);
		cur = nfd;
		comp = next;
	}
	if (cur >= 0) {
		close(cur);
		errno = EINVAL;
	}
	return -1;
}

static int wd_write_one(int basefd, const struct jail_file *f, bool replace, uid_t uid,
                        gid_t gid, struct jail_error *e)
{
	char rel[PATH_MAX];
	if ((size_t)snprintf(rel, sizeof rel, "%s", f->path) >= sizeof rel)
		return util_fail(e, "write input file", ENAMETOOLONG, NULL);
	char *leaf = NULL;
	int dfd = wd_walk(basefd, rel, true, uid, gid, &leaf);
	if (dfd < 0)
		return util_fail(e, "write input file", errno, "%s", f->path);
	/* A session's inputs replace what the copy-in put there: the name
	 * (a file or a link, never followed) goes first, then O_EXCL as always. */
	if (replace && unlinkat(dfd, leaf, 0) != 0 && errno != ENOENT) {
		int err = errno;
		close(dfd);
		return util_fail(e, "write input file", err, "%s", f->path);
	}
	int fd = openat(dfd, leaf, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
	                f->executable ? 0755 : 0644);
	close(dfd);
	if (fd < 0)
		return util_fail(e, "write input file", errno, "%s", f->path);
	const char *p = f->data;
	size_t left = f->len;
	while (left > 0) {
		ssize_t n = write(fd, p, left);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			int err = n < 0 ? errno : EIO;
			close(fd);
			/* ENOSPC: the inputs do not fit the work dir's size. */
			return util_fail(e, "write input file", err, "%s", f->path);
		}
		p += n;
		left -= (size_t)n;
	}
	/* The program owns its inputs: it may change or delete them. */
	int rc = fchown(fd, uid, gid);
	int err = errno;
	close(fd);
	return rc < 0 ? util_fail(e, "write input file", err, "chown %s", f->path) : 0;
}

int wd_write_files(const struct mnt_run *run, const struct jail_spec *spec, uid_t uid,
                   gid_t gid, struct jail_error *e)
{
	int work = mnt_run_open(run, MNT_RUN_WORK), tmp = mnt_run_open(run, MNT_RUN_TMP);
	int rc = 0;
	if (work < 0 || tmp < 0)
		rc = util_fail(e, "open work dir", errno, NULL);
	for (size_t i = 0; rc == 0 && i < spec->nfiles; i++)
		rc = wd_write_one(spec->files[i].base == JAIL_IN_TMP ? tmp : work, &spec->files[i],
		                  spec->replace_inputs, uid, gid, e);
	fd_close(work);
	fd_close(tmp);
	return rc;
}

/* ---------------- a session's workspace ---------------- */

/* What the copy-in child reports: the hook's return value and error. */
struct wd_import_report {
	int rc;
	struct jail_error e;
};

/* A large copy-in runs in a child that first joins the run's cgroup: the
 * tmpfs pages it writes are charged to the run (its memory limit covers
 * the workspace, as it covers files the program writes), not to the
 * responder's cgroup, whose cap is sized for a responder, not for a
 * session's quota (docs/SESSIONS.md, "Memory"). A workspace larger than the
 * run's memory limit OOM-kills the child: ENOMEM, and no program runs. */
int wd_import(const struct mnt_run *run, const struct jail_work_hooks *h, struct cg_run *cg,
              uid_t uid, gid_t gid, struct jail_error *e)
{
	int work = mnt_run_open(run, MNT_RUN_WORK);
	if (work < 0)
		return util_fail(e, "open work dir", errno, NULL);
	/* A small workspace (print(1) and its main.py): a fork and a cgroup
	 * migration would cost more than its pages weigh on the caller's cap. */
	if (h->import_bytes <= JAIL_IMPORT_INLINE_MAX) {
		memset(e, 0, sizeof *e);
		int rc = h->import(h->arg, work, uid, gid, e);
		close(work);
		if (rc < 0 && !e->step[0])
			util_fail(e, "session copy-in", e->err ? e->err : EIO, NULL);
		return rc < 0 ? -1 : 0;
	}
	int cg_fds[3], ncg = cg_run_procs_fds(cg, cg_fds), pfd[2];
	if (pipe2(pfd, O_CLOEXEC) < 0) {
		close(work);
		return util_fail(e, "session copy-in", errno, "pipe");
	}
	pid_t pid = fork();
	if (pid == 0) {
		struct wd_import_report rep = { .rc = -1 };
		close(pfd[0]);
		for (int i = 0; i < ncg; i++)
			if (write(cg_fds[i], "0", 1) != 1) {
				util_fail(&rep.e, "cgroup attach", errno, "session copy-in");
				goto out;
			}
		rep.rc = h->import(h->arg, work, uid, gid, &rep.e);
	out:
		(void)!write(pfd[1], &rep, sizeof rep);
		_exit(0);
	}
	int err = errno;
	close(pfd[1]);
	close(work);
	if (pid < 0) {
		close(pfd[0]);
		return util_fail(e, "session copy-in", err, "fork");
	}
	struct wd_import_report rep;
	ssize_t n;
	do
		n = read(pfd[0], &rep, sizeof rep);
	while (n < 0 && errno == EINTR);
	close(pfd[0]);
	proc_reap(pid);
	if (n != (ssize_t)sizeof rep)   /* killed: the cgroup's OOM killer */
		return util_fail(e, "session copy-in", ENOMEM,
		                 "the workspace does not fit the run's memory limit");
	if (rep.rc < 0) {
		*e = rep.e;
		if (!e->step[0])
			util_fail(e, "session copy-in", e->err ? e->err : EIO, NULL);
		return -1;
	}
	return 0;
}

int wd_export(const struct mnt_run *run, const struct jail_work_hooks *h, struct jail_result *res,
              struct jail_error *e)
{
	int work = mnt_run_open(run, MNT_RUN_WORK);
	if (work < 0)
		return util_fail(e, "open work dir", errno, NULL);
	/* Less than a page free: the last write that wanted one got ENOSPC
	 * (tmpfs charges whole pages), i.e. the quota was reached. */
	struct statvfs vs;
	if (fstatvfs(work, &vs) == 0)
		res->work_full = (uint64_t)vs.f_bavail * vs.f_frsize < 4096;
	int rc = h->export ? h->export(h->arg, work, res, e) : 0;
	close(work);
	if (rc < 0 && !e->step[0])
		util_fail(e, "export work dir", e->err ? e->err : EIO, NULL);
	return rc < 0 ? -1 : 0;
}

/* ---------------- outputs ---------------- */

struct wd_collect {
	const struct jail_spec *spec;
	struct jail_result *res;
	uint64_t total;
	size_t scanned;
	size_t alloc;
};

static bool wd_matches(const struct jail_spec *spec, const char *rel)
{
	for (size_t i = 0; i < spec->noutputs; i++)
		if (fnmatch(spec->outputs[i], rel, FNM_PATHNAME) == 0)
			return true;
	return false;
}

/* Reads at most max bytes of a regular file already opened O_NOFOLLOW. */
static int wd_read_fd(int fd, uint64_t max, unsigned char **data, size_t *len)
{
	struct stat st;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || (uint64_t)st.st_size > max)
		return -1;
	size_t size = (size_t)st.st_size;
	unsigned char *buf = malloc(size + 1);
	if (!buf)
		return -1;
	size_t got = 0;
	while (got < size) {
		ssize_t n = pread(fd, buf + got, size - got, (off_t)got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	buf[got] = '\0';
	*data = buf;
	*len = got;
	return 0;
}

static void wd_take(struct wd_collect *c, int dirfd, const char *name, const char *rel)
{
	const struct jail_spec *spec = c->spec;
	struct jail_result *res = c->res;
	if (res->nfiles >= spec->max_output_files) {
		res->files_truncated = true;
		return;
	}
	/* O_NONBLOCK: should a FIFO slip in, opening it must not wait. */
	int fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		return;
	struct stat st;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return;
	}
	if ((uint64_t)st.st_size > spec->max_output_file_bytes ||
	    c->total + (uint64_t)st.st_size > spec->max_output_total_bytes) {
		res->files_truncated = true;
		close(fd);
		return;
	}
	unsigned char *data;
	size_t len;
	int rc = wd_read_fd(fd, spec->max_output_file_bytes, &data, &len);
	close(fd);
	if (rc < 0)
		return;
	if (res->nfiles == c->alloc) {
		size_t na = c->alloc ? c->alloc * 2 : 8;
		struct jail_out_file *nf = realloc(res->files, na * sizeof *nf);
		if (!nf) {
			free(data);
			return;
		}
		res->files = nf;
		c->alloc = na;
	}
	res->files[res->nfiles++] = (struct jail_out_file){ .path = strdup(rel), .data = data, .len = len };
	c->total += len;
}

static int wd_cmp_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void wd_scan(struct wd_collect *c, int fd, const char *prefix, int depth)
{
	DIR *d = fdopendir(fd);
	if (!d) {
		close(fd);
		return;
	}
	char **names = NULL;
	size_t n = 0, alloc = 0;
	struct dirent *de;
	while ((de = readdir(d)) && c->scanned < WD_MAX_SCAN) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		c->scanned++;
		if (n == alloc) {
			alloc = alloc ? alloc * 2 : 32;
			char **nn = realloc(names, alloc * sizeof *nn);
			if (!nn)
				break;
			names = nn;
		}
		names[n++] = strdup(de->d_name);
	}
	/* Sorted, so the answer does not depend on directory order. */
	if (n > 1)
		qsort(names, n, sizeof *names, wd_cmp_name);
	for (size_t i = 0; i < n; i++) {
		char rel[PATH_MAX];
		if (!names[i] || (size_t)snprintf(rel, sizeof rel, "%s%s", prefix, names[i]) >= sizeof rel)
			continue;
		struct stat st;
		if (fstatat(dirfd(d), names[i], &st, AT_SYMLINK_NOFOLLOW) < 0)
			continue;
		if (S_ISREG(st.st_mode) && wd_matches(c->spec, rel)) {
			wd_take(c, dirfd(d), names[i], rel);
		} else if (S_ISDIR(st.st_mode) && depth < WD_MAX_DEPTH) {
			int sub = openat(dirfd(d), names[i], O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			if (sub >= 0) {
				strncat(rel, "/", sizeof rel - strlen(rel) - 1);
				wd_scan(c, sub, rel, depth + 1);
			}
		}
	}
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
	closedir(d);
}

static void wd_result_file(const struct mnt_run *run, const struct jail_spec *spec,
                           struct jail_result *res)
{
	int tmp = mnt_run_open(run, MNT_RUN_TMP);
	char rel[PATH_MAX];
	if (tmp < 0 || (size_t)snprintf(rel, sizeof rel, "%s", spec->result_path) >= sizeof rel) {
		fd_close(tmp);
		return;
	}
	char *leaf = NULL;
	int dfd = wd_walk(tmp, rel, false, 0, 0, &leaf);
	close(tmp);
	if (dfd < 0)
		return;
	int fd = openat(dfd, leaf, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	close(dfd);
	if (fd < 0)
		return;
	unsigned char *data;
	size_t len;
	if (wd_read_fd(fd, spec->max_result_bytes, &data, &len) == 0) {
		res->result = (struct jail_buf){ .data = (char *)data, .len = len };
		res->has_result = true;
	}
	close(fd);
}

int wd_collect(const struct mnt_run *run, const struct jail_spec *spec, struct jail_result *res,
               struct jail_error *e)
{
	if (spec->result_path)
		wd_result_file(run, spec, res);
	if (spec->noutputs == 0)
		return 0;
	int work = mnt_run_open(run, MNT_RUN_WORK);
	if (work < 0)
		return util_fail(e, "open work dir", errno, NULL);
	struct wd_collect c = { .spec = spec, .res = res };
	wd_scan(&c, work, "", 0);
	return 0;
}

/*
 * list.c - directory listing and recursive removal inside a workspace.
 * Entries are lstat'ed (fstatat AT_SYMLINK_NOFOLLOW): a link is shown as a
 * link, never followed; removal never descends into a link or a mount.
 */
#include "session/ses_private.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char *type_name(mode_t m)
{
	if (S_ISREG(m))
		return "file";
	if (S_ISDIR(m))
		return "directory";
	if (S_ISLNK(m))
		return "symlink";
	if (S_ISFIFO(m))
		return "fifo";
	if (S_ISSOCK(m))
		return "socket";
	return "other";
}

/* One entry; NULL for a name JSON cannot carry (not UTF-8): such a name is
 * left out of the listing rather than mangled into another name. */
static json_t *entry_json(int dfd, const char *name)
{
	struct stat st;
	json_t *o;

	if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) != 0)
		return NULL;
	o = json_pack("{s:s, s:s, s:I, s:i, s:I}", "name", name, "type", type_name(st.st_mode),
	              "size", (json_int_t)st.st_size, "mode", (int)(st.st_mode & 07777), "mtime",
	              (json_int_t)st.st_mtime);
	return o;
}

int ses_dir_list(int wsfd, const char *rel, json_t **out, struct ses_error *e)
{
	struct dirent *d;
	json_t *arr;
	DIR *dir;
	int fd;

	if (rel && *rel) {
		if (ses_path_check(rel, strlen(rel), e) != 0)
			return -1;
		fd = ses_open_beneath(wsfd, rel, O_RDONLY | O_DIRECTORY, e);
	} else {
		fd = openat(wsfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (fd < 0)
			ses_errno_fail(e, errno, "list", ".");
	}
	if (fd < 0)
		return -1;
	if (!(dir = fdopendir(fd))) {
		close(fd);
		return ses_errno_fail(e, errno, "list", rel);
	}
	arr = json_array();
	while (arr && (d = readdir(dir))) {
		json_t *o;

		if (strcmp(d->d_name, ".") == 0 || strcmp(d->d_name, "..") == 0 ||
		    strncmp(d->d_name, ".ses-tmp-", 9) == 0)
			continue;
		if ((o = entry_json(dirfd(dir), d->d_name)))
			json_array_append_new(arr, o);
	}
	closedir(dir);
	if (!arr)
		return ses_fail(e, 500, "session_failure", ENOMEM, "list: out of memory");
	*out = arr;
	return 0;
}

static int remove_entry(int dfd, const char *name, dev_t dev, unsigned depth, void *ctx,
                        struct ses_error *e)
{
	struct stat st;
	int sub;

	if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) != 0)
		return errno == ENOENT ? 0 : ses_errno_fail(e, errno, "remove", name);
	if (!S_ISDIR(st.st_mode)) {
		if (unlinkat(dfd, name, 0) != 0 && errno != ENOENT)
			return ses_errno_fail(e, errno, "remove", name);
		return 0;
	}
	/* A mount planted inside (only root outside the jail could) is left
	 * alone: rmdir fails EBUSY and the error names it. */
	if (st.st_dev != dev)
		return ses_fail(e, 500, "session_failure", EBUSY, "remove: '%s' is a mount", name);
	if (depth >= SES_TREE_DEPTH_MAX)
		return ses_fail(e, 500, "session_failure", ELOOP, "remove: deeper than %d",
		                SES_TREE_DEPTH_MAX);
	sub = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (sub < 0)
		return errno == ENOENT ? 0 : ses_errno_fail(e, errno, "remove", name);
	if (ses_dir_each(sub, "remove", depth + 1, remove_entry, ctx, e) != 0)
		return -1;
	if (unlinkat(dfd, name, AT_REMOVEDIR) != 0 && errno != ENOENT)
		return ses_errno_fail(e, errno, "remove", name);
	return 0;
}

int ses_tree_remove(int dirfd, const char *name, struct ses_error *e)
{
	struct stat st;

	if (fstat(dirfd, &st) != 0)
		return ses_errno_fail(e, errno, "remove", name);
	return remove_entry(dirfd, name, st.st_dev, 0, NULL, e);
}

/*
 * mount.c - the jail's filesystem.
 *
 * Once per RootFS (in the caller's private mount namespace, ns.c):
 *   - the RootFS tree is bind-mounted onto itself read-only, nosuid, nodev:
 *     shared by every jail, never copied;
 *   - the host's null, zero, full, random and urandom are bind-mounted over
 *     the empty files the RootFS has for them (a RootFS holds no device
 *     nodes, and a user namespace cannot make any).
 * Per run, fresh size-capped tmpfs on /work (the program's cwd), /tmp and
 * /dev/shm, which the caller fills and reads through fds (struct mnt_run):
 *   - attached (jobs of several steps): mounted in the caller's namespace,
 *     where every step's pid 1 copies them from;
 *   - detached (fsmount, jobs of one step): pid 1 moves them into its own
 *     namespace (mnt_enter_root), and the caller never unmounts anything.
 * Inside the jail's pid 1 (mnt_enter_root), in its new mount namespace:
 *   - a recursive bind of the root onto itself, a detached run's tmpfs moved
 *     onto it (pivot_root refuses a mount
 *     locked by a less privileged user namespace, and every mount copied into
 *     the jail's namespace is locked), /proc of the new pid namespace
 *     (hidepid=2, host-revealing files masked), pivot_root, and the old
 *     root detached: no host path stays reachable.
 */
#include "jail/jail_private.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

static const char *const dev_nodes[] = { "null", "zero", "full", "random", "urandom" };

static int mnt_bind_dev(const char *root, const char *name, struct jail_error *e)
{
	char src[64], dst[PATH_MAX + 16];
	snprintf(src, sizeof src, "/dev/%s", name);
	if ((size_t)snprintf(dst, sizeof dst, "%s/dev/%s", root, name) >= sizeof dst)
		return util_fail(e, "bind /dev node", ENAMETOOLONG, "%s", name);
	struct stat st;
	/* A character device here is an outer jail's bind (nested, see below). */
	if (lstat(dst, &st) < 0 || !(S_ISREG(st.st_mode) || S_ISCHR(st.st_mode)))
		return util_fail(e, "bind /dev node", errno ? errno : EINVAL,
		                 "the RootFS needs an empty regular file /dev/%s", name);
	if (mount(src, dst, NULL, MS_BIND, NULL) < 0)
		return util_fail(e, "bind /dev node", errno, "%s", src);
	return 0;
}

static int mnt_check_points(const char *root, struct jail_error *e)
{
	static const char *const dirs[] = { "work", "tmp", "proc", "dev", "dev/shm" };
	char p[PATH_MAX + 16];
	for (size_t i = 0; i < sizeof dirs / sizeof dirs[0]; i++) {
		struct stat st;
		snprintf(p, sizeof p, "%s/%s", root, dirs[i]);
		if (lstat(p, &st) < 0 || !S_ISDIR(st.st_mode))
			return util_fail(e, "check RootFS mount points", errno ? errno : ENOTDIR,
			                 "the RootFS needs a directory /%s", dirs[i]);
	}
	return 0;
}

int mnt_prepare_root(struct mnt_root *r, const char *path, struct jail_error *e)
{
	char real[PATH_MAX];
	if (!realpath(path, real))
		return util_fail(e, "resolve RootFS", errno, "%s", path);
	snprintf(r->path, sizeof r->path, "%s", real);
	r->ready = false;
	errno = 0;
	if (mnt_check_points(real, e) < 0)
		return -1;
	/* Non-recursive: a submount under the RootFS (rw, say) must not come
	 * along.  But a copy of a more privileged namespace's mounts is locked,
	 * and the kernel refuses (EINVAL) a non-recursive bind that would reveal
	 * what locked submounts hide: then we are nested (sandbox-run under
	 * another jail-owning process or in a container), and the submounts are
	 * the outer jail's tmpfs and /dev binds, which ours cover again. */
	if (mount(real, real, NULL, MS_BIND, NULL) < 0 &&
	    (errno != EINVAL || mount(real, real, NULL, MS_BIND | MS_REC, NULL) < 0))
		return util_fail(e, "bind RootFS", errno, "%s", real);
	if (mount(NULL, real, NULL, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV, NULL) < 0) {
		int err = errno;
		umount2(real, MNT_DETACH);
		return util_fail(e, "remount RootFS read-only", err, "%s", real);
	}
	for (size_t i = 0; i < sizeof dev_nodes / sizeof dev_nodes[0]; i++) {
		if (mnt_bind_dev(real, dev_nodes[i], e) < 0) {
			umount2(real, MNT_DETACH);
			return -1;
		}
	}
	r->ready = true;
	return 0;
}

void mnt_release_root(struct mnt_root *r)
{
	if (r->ready)
		umount2(r->path, MNT_DETACH); /* recursive: takes the /dev binds along */
	r->ready = false;
	r->path[0] = '\0';
}

/* ---- a run's tmpfs mounts ---- */

static const char *const run_dirs[MNT_RUN_N] = { "work", "tmp", "dev/shm" };

/* A tmpfs's caps as option values.  nr_inodes: a size cap alone lets a
 * program make millions of empty files, each costing kernel memory
 * outside the tmpfs size. */
struct mnt_caps {
	char size[24], inodes[24];
};

static struct mnt_caps mnt_caps(uint64_t bytes)
{
	struct mnt_caps c;
	snprintf(c.size, sizeof c.size, "%llu", (unsigned long long)bytes);
	snprintf(c.inodes, sizeof c.inodes, "%llu", (unsigned long long)(bytes / 4096 + 1024));
	return c;
}

/* mount(2) flags of an attached run mount; a detached one's are the
 * MOUNT_ATTR_ equivalents (mnt_tmpfs_detached). */
static unsigned long mnt_run_flags(int which)
{
	return MS_NOSUID | MS_NODEV | (which == MNT_RUN_SHM ? MS_NOEXEC : 0);
}

static int mnt_tmpfs_attached(const char *root, int which, uint64_t bytes, const char *mode,
                              uid_t uid, gid_t gid, int *fd, struct jail_error *e)
{
	char target[PATH_MAX + 16], opts[160];
	struct mnt_caps c = mnt_caps(bytes);
	snprintf(target, sizeof target, "%s/%s", root, run_dirs[which]);
	if ((size_t)snprintf(opts, sizeof opts, "size=%s,nr_inodes=%s,mode=%s,uid=%u,gid=%u",
	                     c.size, c.inodes, mode, (unsigned)uid, (unsigned)gid) >= sizeof opts)
		return util_fail(e, "mount tmpfs", EINVAL, "options too long");
	if (mount("tmpfs", target, "tmpfs", mnt_run_flags(which), opts) < 0)
		return util_fail(e, "mount tmpfs", errno, "/%s", run_dirs[which]);
	*fd = open(target, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (*fd < 0)
		return util_fail(e, "open tmpfs", errno, "/%s", run_dirs[which]);
	return 0;
}

static int mnt_fsconfig(int fs, const char *key, const char *value)
{
	return fsconfig(fs, FSCONFIG_SET_STRING, key, value, 0);
}

/* The same tmpfs as mnt_tmpfs_attached, made with the new mount API and
 * never attached here: nothing to unmount afterwards, so the responder
 * never waits in umount2 for the RCU grace period every unmount costs
 * (namespace_unlock() -> synchronize_rcu_expedited()). */
static int mnt_tmpfs_detached(int which, uint64_t bytes, const char *mode, uid_t uid, gid_t gid,
                              int *fd, struct jail_error *e)
{
	char id[2][16];
	struct mnt_caps c = mnt_caps(bytes);
	snprintf(id[0], sizeof id[0], "%u", (unsigned)uid);
	snprintf(id[1], sizeof id[1], "%u", (unsigned)gid);
	int fs = fsopen("tmpfs", FSOPEN_CLOEXEC);
	if (fs < 0)
		return util_fail(e, "mount tmpfs", errno, "/%s: fsopen", run_dirs[which]);
	unsigned attrs = MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV |
	                 (which == MNT_RUN_SHM ? MOUNT_ATTR_NOEXEC : 0);
	if (mnt_fsconfig(fs, "source", "tmpfs") < 0 || mnt_fsconfig(fs, "size", c.size) < 0 ||
	    mnt_fsconfig(fs, "nr_inodes", c.inodes) < 0 || mnt_fsconfig(fs, "mode", mode) < 0 ||
	    mnt_fsconfig(fs, "uid", id[0]) < 0 || mnt_fsconfig(fs, "gid", id[1]) < 0 ||
	    fsconfig(fs, FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0 ||
	    (*fd = fsmount(fs, FSMOUNT_CLOEXEC, attrs)) < 0) {
		int err = errno;
		close(fs);
		return util_fail(e, "mount tmpfs", err, "/%s", run_dirs[which]);
	}
	close(fs);
	return 0;
}

bool mnt_run_can_detach(void)
{
	int fs = fsopen("tmpfs", FSOPEN_CLOEXEC);
	if (fs < 0)
		return false;
	close(fs);
	return true;
}

int mnt_run_mounts(struct mnt_run *m, const char *root, bool detached, uint64_t work_bytes,
                   uint64_t tmp_bytes, uid_t owner, gid_t group, struct jail_error *e)
{
	static const char *const modes[MNT_RUN_N] = { "0755", "1777", "1777" };
	*m = (struct mnt_run){ .made = true, .detached = detached, .fd = { -1, -1, -1 } };
	for (int i = 0; i < MNT_RUN_N; i++) {
		uint64_t bytes = i == MNT_RUN_WORK ? work_bytes : tmp_bytes;
		uid_t uid = i == MNT_RUN_WORK ? owner : 0;
		gid_t gid = i == MNT_RUN_WORK ? group : 0;
		int rc = detached ? mnt_tmpfs_detached(i, bytes, modes[i], uid, gid, &m->fd[i], e)
		                  : mnt_tmpfs_attached(root, i, bytes, modes[i], uid, gid, &m->fd[i], e);
		if (rc < 0) {
			mnt_run_release(m, root);
			return -1;
		}
	}
	return 0;
}

/* Changes the size caps of a run's fresh, still unused tmpfs mounts (a
 * prepared stage made for other sizes: a session's quota after a one-shot
 * run, or the reverse), which costs a reconfigure each instead of three
 * new mounts and a new pid 1.  Only a mount never used may be resized: a
 * smaller cap than what it holds would fail, and nothing a program left
 * may carry over to the next job.  fspick(2) reaches a detached run's
 * mounts through our fds wherever they are attached. */
static int mnt_tmpfs_resize(const struct mnt_run *m, const char *root, int which, uint64_t bytes)
{
	struct mnt_caps c = mnt_caps(bytes);
	if (!m->detached) {
		char target[PATH_MAX + 16], opts[64];
		snprintf(target, sizeof target, "%s/%s", root, run_dirs[which]);
		snprintf(opts, sizeof opts, "size=%s,nr_inodes=%s", c.size, c.inodes);
		return mount(NULL, target, NULL, MS_REMOUNT | mnt_run_flags(which), opts);
	}
	int fs = fspick(m->fd[which], "", FSPICK_EMPTY_PATH | FSPICK_CLOEXEC);
	if (fs < 0)
		return -1;
	int rc = mnt_fsconfig(fs, "size", c.size) < 0 || mnt_fsconfig(fs, "nr_inodes", c.inodes) < 0 ||
	         fsconfig(fs, FSCONFIG_CMD_RECONFIGURE, NULL, NULL, 0) < 0 ? -1 : 0;
	close(fs);
	return rc;
}

int mnt_run_resize(struct mnt_run *m, const char *root, uint64_t work_from, uint64_t work_bytes,
                   uint64_t tmp_from, uint64_t tmp_bytes)
{
	if (work_from != work_bytes && mnt_tmpfs_resize(m, root, MNT_RUN_WORK, work_bytes) < 0)
		return -1;
	if (tmp_from != tmp_bytes && (mnt_tmpfs_resize(m, root, MNT_RUN_TMP, tmp_bytes) < 0 ||
	                              mnt_tmpfs_resize(m, root, MNT_RUN_SHM, tmp_bytes) < 0))
		return -1;
	return 0;
}

int mnt_run_open(const struct mnt_run *m, int which)
{
	if (!m->made || m->fd[which] < 0) {
		errno = EBADF;
		return -1;
	}
	return openat(m->fd[which], ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
}

void mnt_run_release(struct mnt_run *m, const char *root)
{
	if (!m->made)
		return;
	char target[PATH_MAX + 16];
	for (int i = MNT_RUN_N - 1; i >= 0; i--) {
		m->fd[i] = fd_close(m->fd[i]);
		/* Attached: a mount failed half-way may be missing (EINVAL: fine).
		 * Detached: the last close frees the mount, without a grace
		 * period once a pid 1 took it (its namespace's teardown
		 * unhashed it); one never taken is dissolved (error paths). */
		if (!m->detached && root) {
			snprintf(target, sizeof target, "%s/%s", root, run_dirs[i]);
			umount2(target, MNT_DETACH);
		}
	}
	*m = (struct mnt_run){ .fd = { -1, -1, -1 } };
}

/* pid 1 of a detached run: its mounts onto the new root's mount points,
 * after the recursive bind that made that root ours (mnt_enter_root). */
static int mnt_move_run(const char *root, const int *fds, struct jail_error *e)
{
	char target[PATH_MAX + 16];
	for (int i = 0; i < MNT_RUN_N; i++) {
		snprintf(target, sizeof target, "%s/%s", root, run_dirs[i]);
		if (move_mount(fds[i], "", AT_FDCWD, target, MOVE_MOUNT_F_EMPTY_PATH) < 0)
			return util_fail(e, "move tmpfs", errno, "/%s", run_dirs[i]);
	}
	return 0;
}

/* Files of /proc that tell a program about the host and that no runtime
 * needs: the host kernel's command line (boot parameters, sometimes
 * secrets), its configuration and symbols, the key quotas of the host user
 * the jail maps to, loaded modules, scheduler and timer internals.  Each is
 * covered by a bind of /dev/null, as container runtimes do (runc's
 * maskedPaths): reads give nothing, writes go nowhere.  The program cannot
 * remove the cover: it has no capabilities and seccomp refuses umount2.
 * A name this kernel does not have is skipped: there is nothing to hide. */
static const char *const proc_masked[] = {
	"cmdline", "bootconfig", "config.gz", "kallsyms", "kcore", "keys", "key-users",
	"modules", "sched_debug", "timer_list", "latency_stats", "sysrq-trigger",
};

static int mnt_mask_proc(const char *root, struct jail_error *e)
{
	char null[PATH_MAX + 16], target[PATH_MAX + 32];
	snprintf(null, sizeof null, "%s/dev/null", root);
	for (size_t i = 0; i < sizeof proc_masked / sizeof proc_masked[0]; i++) {
		struct stat st;
		if ((size_t)snprintf(target, sizeof target, "%s/proc/%s", root, proc_masked[i]) >= sizeof target)
			return util_fail(e, "mask /proc", ENAMETOOLONG, "%s", proc_masked[i]);
		if (lstat(target, &st) < 0) {
			if (errno == ENOENT)
				continue;
			return util_fail(e, "mask /proc", errno, "/proc/%s", proc_masked[i]);
		}
		if (mount(null, target, NULL, MS_BIND, NULL) < 0)
			return util_fail(e, "mask /proc", errno, "/proc/%s", proc_masked[i]);
	}
	return 0;
}

/* The jail's /proc shows only the processes the program may ptrace-read
 * (hidepid=2, "invisible"): its own.  The jail's pid 1 is not one of them:
 * it shares the caller's memory (CLONE_VM, init.c), is non-dumpable and
 * keeps capabilities the program lacks, so /proc/1 does not exist for the
 * program at all (docs/SECURITY.md, "the jail's pid 1"). */
static int mnt_proc(const char *root, struct jail_error *e)
{
	char proc[PATH_MAX + 8];
	snprintf(proc, sizeof proc, "%s/proc", root);
	if (mount("proc", proc, "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, "hidepid=2") < 0)
		return util_fail(e, "mount /proc", errno, NULL);
	return mnt_mask_proc(root, e);
}

int mnt_enter_root(const char *root, const int *run_fds, struct jail_error *e)
{
	if (mount(root, root, NULL, MS_BIND | MS_REC, NULL) < 0)
		return util_fail(e, "bind new root", errno, "%s", root);
	if (run_fds && mnt_move_run(root, run_fds, e) < 0)
		return -1;
	if (mnt_proc(root, e) < 0)
		return -1;
	if (chdir(root) < 0)
		return util_fail(e, "chdir new root", errno, NULL);
	/* pivot_root(".", ".") stacks the old root on top of the new one; the
	 * detach below then removes it, so no directory for it is needed in a
	 * read-only RootFS (pivot_root(2), NOTES). */
	if (syscall(SYS_pivot_root, ".", ".") < 0)
		return util_fail(e, "pivot_root", errno, NULL);
	if (umount2(".", MNT_DETACH) < 0)
		return util_fail(e, "detach old root", errno, NULL);
	if (chdir(JAIL_WORK_DIR) < 0)
		return util_fail(e, "chdir /work", errno, NULL);
	return 0;
}

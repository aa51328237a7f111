/*
 * session.h - the contract of src/session: persistent session workspaces on
 * the host (docs/SESSIONS.md). Ids, safe path resolution beneath a
 * workspace, atomic writes with a quota, listing, deletion, the session
 * store (meta.json) and the expiry sweep. No HTTP here: every failure fills
 * a struct ses_error whose status and code the HTTP layer answers as is.
 */
#ifndef SESSION_SESSION_H
#define SESSION_SESSION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>

#include <jansson.h>

#define SES_ID_BYTES 16               /* 128 random bits from getrandom() */
#define SES_ID_LEN (2 * SES_ID_BYTES) /* lowercase hex */
#define SES_PATH_MAX 1024             /* bytes of a client path */
#define SES_NAME_MAX 255              /* bytes of one component */
#define SES_DEPTH_MAX 32              /* components of a client path */
#define SES_TREE_DEPTH_MAX 256        /* directory levels a walk of the workspace descends */
#define SES_META_MAX 65536            /* bytes of meta.json */
#define SES_STALE_S 300               /* age after which a .new- leftover is removed */
#define SES_PAGE 4096                 /* the unit the quota charges (a tmpfs page) */

struct ses_error {
	int status;     /* HTTP status to answer: 400, 403, 404, 409, 413, 500 */
	char code[32];  /* machine-readable: "invalid_path", "quota_exceeded"... */
	char field[32]; /* request field at fault, or "" */
	int err;        /* errno of the failing call, or 0 */
	char msg[256];
};

/* Ids: 32 lowercase hex digits. Anything else is malformed (a 400). */
int ses_id_new(char out[SES_ID_LEN + 1], struct ses_error *e);
bool ses_id_valid(const char *s);

/* Client paths: relative, '/'-separated, no "." or ".." or empty component,
 * no NUL (len counts the bytes the client sent), no control bytes. Percent
 * escapes are NOT decoded here: the caller decodes the URL once, before. */
int ses_path_check(const char *rel, size_t len, struct ses_error *e);

/* Opens rel beneath the workspace directory wsfd without following any
 * symlink or crossing any mount (openat2 RESOLVE_BENEATH|RESOLVE_NO_SYMLINKS|
 * RESOLVE_NO_XDEV; an O_NOFOLLOW walk where openat2 is ENOSYS). flags gets
 * O_CLOEXEC|O_NOFOLLOW added. Returns the fd or -1. */
int ses_open_beneath(int wsfd, const char *rel, int flags, struct ses_error *e);

/* Opens a regular file for download: O_NONBLOCK (a FIFO never blocks), then
 * refuses anything not regular (400 not_a_file) and hard links (403 hard_link). */
int ses_file_open_read(int wsfd, const char *rel, struct stat *out_st, struct ses_error *e);

/* Bytes the workspace charges against its quota: each regular file's size
 * rounded up to SES_PAGE; directories, symlinks and others charge 0. */
uint64_t ses_charge(uint64_t size);
int ses_usage(int wsfd, uint64_t *out, struct ses_error *e);

/* Writes len bytes to rel atomically (temp file, fsync, renameat), creating
 * parent directories, when the workspace's usage after the write stays within
 * quota bytes (413 quota_exceeded otherwise: the old file and the tree stay
 * as they were, no temp file is left). */
int ses_file_write(int wsfd, const char *rel, const void *buf, size_t len, mode_t mode,
                   uint64_t quota, struct ses_error *e);

/* Reads up to len bytes into buf: how many (> 0), 0 at the end, -1 when
 * the source failed (the HTTP body: the client left). */
typedef long (*ses_read_fn)(void *ctx, char *buf, size_t len);
/* ses_file_write with the data read from read in chunks of at most 64 KiB,
 * never held whole: exactly len bytes (the quota is checked against len
 * before anything is created); a source that ends early or fails is a 400
 * invalid_request and, like every failure, leaves no temp file and the old
 * file as it was. */
int ses_file_write_stream(int wsfd, const char *rel, ses_read_fn read, void *ctx, uint64_t len,
                          mode_t mode, uint64_t quota, struct ses_error *e);

/* Entries of directory rel ("" = the workspace) as a JSON array of
 * {name, type, size, mode, mtime}; links are listed, never followed. */
int ses_dir_list(int wsfd, const char *rel, json_t **out, struct ses_error *e);

/* Removes a file, symlink or empty directory (409 not_empty). */
int ses_file_delete(int wsfd, const char *rel, struct ses_error *e);

/* Removes name (a file or a whole tree) beneath dirfd, never following
 * links nor descending into another mount. */
int ses_tree_remove(int dirfd, const char *name, struct ses_error *e);

/* The store: STATE/sessions/<id>/{meta.json, lock, work/}. */
struct ses_store {
	int sessfd; /* STATE/sessions */
	int lockfd; /* STATE/sweep.lock */
};

struct ses_meta {
	char id[SES_ID_LEN + 1];
	char tmpl[64];
	int64_t created_at, last_used, expires_at; /* seconds since the epoch */
	uint32_t idle_timeout_s;
	uint64_t disk_bytes;
	uint64_t runs;
	json_t *defaults; /* limits and env for the session's runs, or NULL */
};

int ses_store_open(const char *state_dir, struct ses_store *out, struct ses_error *e);
void ses_store_close(struct ses_store *st);

/* Creates a session: meta->tmpl, idle_timeout_s, disk_bytes and defaults
 * are the caller's; created_at, last_used and expires_at (now + ttl_s) are
 * filled in, and id when it is "" (128 random bits). A given id must be
 * well-formed (400 invalid_session_id) and free (409 session_exists). */
int ses_create(struct ses_store *st, struct ses_meta *meta, uint32_t ttl_s, int64_t now,
               struct ses_error *e);
/* Loads a session: 400 for a malformed id, 404 for an unknown or expired one. */
int ses_load(struct ses_store *st, const char *id, int64_t now, struct ses_meta *out,
             struct ses_error *e);
/* Marks the session used at now (the lock file's mtime; see store.c). */
int ses_touch(struct ses_store *st, const char *id, int64_t now, struct ses_error *e);
int ses_meta_save(struct ses_store *st, const struct ses_meta *meta, struct ses_error *e);
void ses_meta_clear(struct ses_meta *m);
bool ses_expired(const struct ses_meta *m, int64_t now);
/* The workspace directory of a session, opened O_DIRECTORY|O_NOFOLLOW. */
int ses_work_open(struct ses_store *st, const char *id, struct ses_error *e);
/* The session lock (flock on <id>/lock): one run or write at a time. With
 * wait false a held lock is 409 session_busy. Returns the fd to close. */
int ses_lock(struct ses_store *st, const char *id, bool wait, struct ses_error *e);
/* A session's directory STATE/sessions/<id>, O_DIRECTORY|O_NOFOLLOW|O_CLOEXEC. */
int ses_dir_open(struct ses_store *st, const char *id, struct ses_error *e);

/* Session runs (copy.c). Copies the workspace tree beneath wsfd into dstfd
 * (a run's empty /work): regular files (contents and mode bits & 0777),
 * directories, symlinks as symlinks (never followed); FIFOs, sockets and
 * devices skipped; every entry chowned to uid:gid; never follows a link nor
 * crosses a mount (st_dev) on either side; depth <= SES_TREE_DEPTH_MAX. */
int ses_copy_in(int wsfd, int dstfd, uid_t uid, gid_t gid, struct ses_error *e);
/* After a run: copies srcfd's tree (hostile: made by the program) into
 * sdirfd/work.new (same rules; owned by the caller; a hard link inside the
 * source becomes separate files, never a hard link), then, when its charge
 * (ses_usage rules) is within quota, swaps work.new and work with
 * renameat2(RENAME_EXCHANGE), fsyncs, and removes the old tree. Over quota:
 * *over = true, work/ is left exactly as it was, work.new removed.
 * *out_used (may be NULL) gets the charge of the copied tree. */
int ses_commit(int sdirfd, int srcfd, uint64_t quota, bool *over, uint64_t *out_used,
               struct ses_error *e);

/* Deletes a session: renamed out of sight first, then removed. */
int ses_delete(struct ses_store *st, const char *id, struct ses_error *e);
/* Deletes a session whose lock a run may hold: renamed out of sight first,
 * then the lock is waited for (at most timeout_ms; *out_waited says whether
 * it was held), then the tree is removed. */
int ses_delete_wait(struct ses_store *st, const char *id, unsigned timeout_ms, bool *out_waited,
                    struct ses_error *e);
/* Calls fn for every session id in the store (expired or not), stopping at
 * the first non-zero return, which is returned. */
typedef int (*ses_id_fn)(const char *id, void *ctx);
int ses_each(struct ses_store *st, ses_id_fn fn, void *ctx, struct ses_error *e);
/* Deletes every expired, unlocked session and leftovers of interrupted
 * deletes. Only one sweeper at a time (flock on STATE/sweep.lock); a sweeper
 * that finds it held returns 0 at once with *out_swept 0. */
int ses_sweep(struct ses_store *st, int64_t now, unsigned *out_swept, struct ses_error *e);

#endif

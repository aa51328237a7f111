/* ses_private.h - what the files of src/session share. */
#ifndef SESSION_SES_PRIVATE_H
#define SESSION_SES_PRIVATE_H

#include "session/session.h"

int ses_fail(struct ses_error *e, int status, const char *code, int err, const char *fmt, ...)
        __attribute__((format(printf, 5, 6)));
int ses_errno_fail(struct ses_error *e, int err, const char *what, const char *rel);

/* 1: openat2 as the kernel has it; 0: the O_NOFOLLOW walk only (tests use
 * it to exercise the fallback on kernels with openat2). */
extern int ses_use_openat2;

/* The component walk behind ses_open_beneath's fallback. */
int ses_open_walk(int wsfd, const char *rel, int flags, struct ses_error *e);
/* Opens (mkdir first when create) the directory holding rel's last
 * component; *out_leaf points at that component inside rel. */
int ses_open_parent(int wsfd, const char *rel, bool create, const char **out_leaf,
                    struct ses_error *e);
/* One entry of a directory being walked: dev is the directory's device
 * (a walk never crosses into another mount), depth its depth. */
typedef int (*ses_entry_fn)(int dfd, const char *name, dev_t dev, unsigned depth, void *ctx,
                            struct ses_error *e);
/* Calls fn for every entry of dfd but "." and ".." (dfd is taken over and
 * closed), stopping at the first that fails; op names the walk in errors. */
int ses_dir_each(int dfd, const char *op, unsigned depth, ses_entry_fn fn, void *ctx,
                 struct ses_error *e);
/* Writes len bytes of read to a temp file in dirfd and renames it over name. */
int ses_write_at_stream(int dirfd, const char *name, ses_read_fn read, void *ctx, uint64_t len,
                        mode_t mode, struct ses_error *e);
/* Writes buf to a temp file in dirfd and renames it over name. */
int ses_write_at(int dirfd, const char *name, const void *buf, size_t len, mode_t mode,
                 struct ses_error *e);

#endif

/*
 * ses_files.c - the files of a session's workspace:
 *   GET    /api/sandbox/sessions/{id}/files[?path=DIR]  list a directory
 *   GET    /api/sandbox/sessions/{id}/files/{path}      download (raw bytes)
 *   PUT    /api/sandbox/sessions/{id}/files/{path}      upload (raw body)
 *   DELETE /api/sandbox/sessions/{id}/files/{path}      remove a file or empty dir
 * {path} comes from the raw REQUEST_URI and is percent-decoded here exactly
 * once, then checked by ses_path_check: "%2e%2e" is "..", refused; "%252e"
 * is the literal name "%2e" (docs/API.md, "Paths"). Every lookup in the
 * workspace is src/session's (no symlink, no mount, no ".." followed).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/sha256.h"
#include "fcgi/ses_json.h"

/* A decoded client path: the NUL-terminated text and the length the client
 * sent (a NUL byte inside is caught by ses_path_check). */
struct ses_path {
	char buf[SES_PATH_MAX + 2];
	size_t len;
};

/* Decodes raw[0..len) once and checks it; "" is allowed when root_ok (the
 * workspace itself, for listings). 0, or answers 400 invalid_path and -1. */
static int decode_path(struct ses_op *op, const char *raw, size_t len, bool plus_space,
                       bool root_ok, struct ses_path *out)
{
	struct ses_error e;
	char msg[96];

	memset(&e, 0, sizeof e);
	if (http_pct_decode(raw, len, plus_space, out->buf, sizeof out->buf, &out->len) != 0) {
		snprintf(msg, sizeof msg, "path is longer than %d bytes or has a malformed %% escape",
		         SES_PATH_MAX);
		ses_op_refuse(op, 400, "invalid_path", msg, "path");
		return -1;
	}
	if (out->len == 0 && root_ok)
		return 0;
	if (ses_path_check(out->buf, out->len, &e) != 0) {
		snprintf(e.field, sizeof e.field, "path");
		ses_op_fail(op, &e);
		return -1;
	}
	return 0;
}

/* The session (404 when unknown or expired) and its workspace. Returns the
 * workspace fd, or answers and -1. *m is filled on success. */
static int open_session(struct ses_op *op, struct ses_meta *m, int64_t now)
{
	struct ses_error e;
	int wsfd;

	memset(&e, 0, sizeof e);
	if (ses_load(&op->s->store, op->id, now, m, &e) != 0) {
		ses_op_fail(op, &e);
		return -1;
	}
	wsfd = ses_work_open(&op->s->store, op->id, &e);
	if (wsfd < 0) {
		ses_meta_clear(m);
		ses_op_fail(op, &e);
		return -1;
	}
	ses_touch(&op->s->store, op->id, ses_now_ceil(), &e);
	return wsfd;
}

static void handle_list(struct ses_op *op, const struct route *rt, int wsfd)
{
	struct ses_path p = { .len = 0 };
	const char *v;
	size_t vlen = 0;
	struct ses_error e;
	json_t *entries = NULL;

	memset(&e, 0, sizeof e);
	v = http_query_param(rt->query, rt->query_len, "path", &vlen);
	if (v && decode_path(op, v, vlen, true, true, &p) < 0)
		return;
	if (ses_dir_list(wsfd, p.buf, &entries, &e) != 0) {
		snprintf(e.field, sizeof e.field, "path");
		ses_op_fail(op, &e);
		return;
	}
	ses_op_done(op, 200, json_pack("{s:I}", "entries", (json_int_t)json_array_size(entries)));
	http_send_json(op->r, 200, json_pack("{s:s, s:o}", "path", p.buf, "entries", entries), NULL);
}

static void handle_download(struct ses_op *op, const struct ses_path *p, int wsfd)
{
	struct ses_error e;
	struct stat st;
	int fd;

	memset(&e, 0, sizeof e);
	fd = ses_file_open_read(wsfd, p->buf, &st, &e);
	if (fd < 0) {
		ses_op_fail(op, &e);
		return;
	}
	ses_op_done(op, 200, json_pack("{s:I}", "bytes", (json_int_t)st.st_size));
	http_send_file(op->r, fd, (uint64_t)st.st_size, http_type_by_name(p->buf));
	close(fd);
}

/* The request body on its way to the temp file, hashed as it passes. */
struct upload_src {
	struct http_req *r;
	struct sha256 h;
};

static long upload_read(void *ctx, char *buf, size_t len)
{
	struct upload_src *u = ctx;
	long n = http_body_read(u->r, buf, len);

	if (n > 0)
		sha256_update(&u->h, buf, (size_t)n);
	return n;
}

/* Before the body is read: a length (nginx buffers the body and always
 * sends one), within the upload cap. 0, or answers and -1. */
static int check_upload(struct ses_op *op)
{
	struct http_req *r = op->r;
	char msg[128];

	if (r->bad_length) {
		ses_op_refuse(op, 400, "invalid_request", "invalid Content-Length", NULL);
		return -1;
	}
	if (!r->has_length) {
		ses_op_refuse(op, 411, "length_required", "an upload needs a Content-Length", NULL);
		return -1;
	}
	if (r->content_length > op->s->cfg.max_upload_bytes) {
		snprintf(msg, sizeof msg, "upload exceeds %llu bytes (--max-upload-bytes)",
		         (unsigned long long)op->s->cfg.max_upload_bytes);
		ses_op_refuse(op, 413, "too_large", msg, NULL);
		return -1;
	}
	return 0;
}

static void handle_upload(struct ses_op *op, const struct ses_path *p, int wsfd,
                          const struct ses_meta *m)
{
	struct upload_src u = { .r = op->r };
	unsigned char d[SHA256_LEN];
	char hex[2 * SHA256_LEN + 1];
	struct ses_error e;
	int lock, rc;

	memset(&e, 0, sizeof e);
	if (check_upload(op) < 0)
		return;
	/* The lock keeps the quota check and the write of two uploads (or an
	 * upload and a run) apart: no queue, a 409 (docs/SESSIONS.md). */
	lock = ses_lock(&op->s->store, op->id, false, &e);
	if (lock < 0) {
		ses_op_fail(op, &e);
		return;
	}
	sha256_init(&u.h);
	rc = ses_file_write_stream(wsfd, p->buf, upload_read, &u, op->r->content_length, 0644,
	                           m->disk_bytes, &e);
	close(lock);
	if (rc != 0) {
		ses_op_fail(op, &e);
		return;
	}
	sha256_final(&u.h, d);
	sha256_hex(d, hex);
	ses_op_done(op, 201, json_pack("{s:I}", "bytes", (json_int_t)op->r->content_length));
	http_send_json(op->r, 201, json_pack("{s:s, s:I, s:s}", "path", p->buf,
	                                     "size", (json_int_t)op->r->content_length,
	                                     "sha256", hex), NULL);
}

static void handle_remove(struct ses_op *op, const struct ses_path *p, int wsfd)
{
	struct ses_error e;
	int lock, rc;

	memset(&e, 0, sizeof e);
	lock = ses_lock(&op->s->store, op->id, false, &e);
	if (lock < 0) {
		ses_op_fail(op, &e);
		return;
	}
	rc = ses_file_delete(wsfd, p->buf, &e);
	close(lock);
	if (rc != 0) {
		ses_op_fail(op, &e);
		return;
	}
	ses_op_done(op, 204, NULL);
	http_send_empty(op->r, 204, NULL);
}

void svc_handle_session_files(struct svc *s, struct http_req *r, const struct route *rt)
{
	struct ses_op op = { .s = s, .r = r, .op = "files" };
	struct ses_path p = { .len = 0 };
	struct ses_meta m;
	int wsfd;

	switch (rt->id) {
	case ROUTE_SES_FILE_GET: op.op = "download"; break;
	case ROUTE_SES_FILE_PUT: op.op = "upload"; break;
	case ROUTE_SES_FILE_DELETE: op.op = "file_delete"; break;
	case ROUTE_SES_FILES:
	default: op.op = "files"; break;
	}
	if (ses_op_id(&op, rt) < 0)
		return;
	if (rt->id != ROUTE_SES_FILES && decode_path(&op, rt->file, rt->file_len, false, false, &p) < 0)
		return;
	wsfd = open_session(&op, &m, (int64_t)time(NULL));
	if (wsfd < 0)
		return;
	switch (rt->id) {
	case ROUTE_SES_FILE_GET: handle_download(&op, &p, wsfd); break;
	case ROUTE_SES_FILE_PUT: handle_upload(&op, &p, wsfd, &m); break;
	case ROUTE_SES_FILE_DELETE: handle_remove(&op, &p, wsfd); break;
	case ROUTE_SES_FILES:
	default: handle_list(&op, rt, wsfd); break;
	}
	close(wsfd);
	ses_meta_clear(&m);
}

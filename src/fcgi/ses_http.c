/*
 * ses_http.c - the session endpoints: POST/GET /api/sandbox/sessions,
 * GET/DELETE /api/sandbox/sessions/{id}, and what every session endpoint
 * shares (id check, errors, log events). Files are in ses_files.c, runs in
 * ses_run.c. The state is on disk only (src/session), so any responder
 * answers any request of any session (docs/SESSIONS.md).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "api/req.h"
#include "fcgi/log.h"
#include "fcgi/ses_json.h"

unsigned svc_delete_wait_ms(const struct svc *s)
{
	uint64_t ms = s->cfg.req.wall_time_ms.max + s->cfg.req.compile_defaults.wall_time_ms + 10000;

	return ms > 3600000 ? 3600000u : (unsigned)ms;
}

int64_t ses_now_ceil(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec + (ts.tv_nsec > 0);
}

json_t *ses_json_meta(struct ses_store *st, const struct ses_meta *m)
{
	struct ses_error e;
	uint64_t used = 0;
	json_t *o, *limits = NULL, *env = NULL;
	int wsfd = ses_work_open(st, m->id, &e);
	bool have_used = wsfd >= 0 && ses_usage(wsfd, &used, &e) == 0;

	if (wsfd >= 0)
		close(wsfd);
	if (m->defaults) {
		limits = json_incref(json_object_get(m->defaults, "limits"));
		env = json_incref(json_object_get(m->defaults, "env"));
	}
	o = json_pack("{s:s, s:s, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:o, s:o}",
	              "session_id", m->id, "template", m->tmpl,
	              "created_at", (json_int_t)m->created_at,
	              "last_used", (json_int_t)m->last_used,
	              "expires_at", (json_int_t)m->expires_at,
	              "idle_expires_at", (json_int_t)(m->last_used + (int64_t)m->idle_timeout_s),
	              "idle_timeout_s", (json_int_t)m->idle_timeout_s,
	              "disk_mb", (json_int_t)(m->disk_bytes >> 20),
	              "disk_bytes", (json_int_t)m->disk_bytes,
	              "runs", (json_int_t)m->runs,
	              "limits", limits ? limits : json_object(),
	              "env", env ? env : json_object());
	if (o)
		json_object_set_new(o, "bytes_used", have_used ? json_integer((json_int_t)used)
		                                               : json_null());
	return o;
}

int ses_op_id(struct ses_op *op, const struct route *rt)
{
	if (rt->sid_len == SES_ID_LEN) {
		memcpy(op->id, rt->sid, SES_ID_LEN);
		op->id[SES_ID_LEN] = '\0';
		if (ses_id_valid(op->id))
			return 0;
	}
	op->id[0] = '\0';
	ses_op_refuse(op, 400, "invalid_session_id",
	              "session id must be 32 lowercase hex digits", "session_id");
	return -1;
}

static void op_log(struct ses_op *op, const char *level, int status, const char *code,
                   json_t *fields)
{
	json_t *o = json_pack("{s:s, s:s, s:i, s:I}", "request_id", op->r->request_id,
	                      "op", op->op, "status", status,
	                      "duration_ms", (json_int_t)http_elapsed_ms(&op->r->t0));
	char event[64];

	if (!o) {
		json_decref(fields);
		return;
	}
	if (op->id[0])
		json_object_set_new(o, "session_id", json_string(op->id));
	if (code)
		json_object_set_new(o, "code", json_string(code));
	if (fields)
		json_object_update(o, fields);
	json_decref(fields);
	snprintf(event, sizeof event, "sandbox.session.%s", op->op);
	log_event(level, event, o);
	met_session(op->s->met.store, op->op, status);
}

void ses_op_refuse(struct ses_op *op, int status, const char *code, const char *msg,
                   const char *field)
{
	op_log(op, status >= 500 ? "error" : "info", status, code, NULL);
	http_send_error(op->r, status, code, msg, field && field[0] ? field : NULL,
	                strcmp(code, "session_busy") == 0 ? "Retry-After: 1\r\n" : NULL);
}

void ses_op_fail(struct ses_op *op, const struct ses_error *e)
{
	int status = e->status ? e->status : 500;
	const char *code = e->code[0] ? e->code : "internal";
	const char *field = e->field;

	/* The client's path is the field of every path error. */
	if (!field[0] && (strcmp(code, "invalid_path") == 0 || strcmp(code, "unsafe_path") == 0 ||
	                  strcmp(code, "not_a_file") == 0 || strcmp(code, "hard_link") == 0 ||
	                  strcmp(code, "not_found") == 0 || strcmp(code, "not_empty") == 0 ||
	                  strcmp(code, "is_directory") == 0))
		field = "path";
	if (status >= 500)
		log_event("error", "sandbox.session.failure",
		          json_pack("{s:s, s:s, s:s, s:i, s:s}", "request_id", op->r->request_id,
		                    "op", op->op, "session_id", op->id, "errno", e->err,
		                    "message", e->msg));
	/* A 500 says what failed without the host's paths. */
	ses_op_refuse(op, status, status >= 500 ? "session_failure" : code,
	              status >= 500 ? "the session store failed; see the service log" : e->msg,
	              field);
}

void ses_op_done(struct ses_op *op, int status, json_t *fields)
{
	op_log(op, "info", status, NULL, fields);
}

/* Checks that come before reading a JSON body. Returns 0 or answers -1. */
static int check_json_headers(struct ses_op *op)
{
	struct svc_refusal no;

	if (svc_json_body_refusal(op->s, op->r, &no) == 0)
		return 0;
	ses_op_refuse(op, no.status, no.code, no.msg, NULL);
	return -1;
}

/* Several hosts (docs/SESSIONS.md): the front nginx routes by a hash of
 * the id and hands a new session's id down as the FastCGI parameter
 * SANDBOX_SESSION_ID (a name no client header can produce), so that later
 * requests for it reach this host. Used only with --trust-session-id-param;
 * a malformed one is 400, a taken one 409 (ses_create). */
static int given_id(struct ses_op *op, struct ses_meta *m)
{
	const char *sid = FCGX_GetParam("SANDBOX_SESSION_ID", op->r->fx->envp);

	if (!op->s->cfg.trust_session_id || !sid || !sid[0])
		return 0;
	if (!ses_id_valid(sid)) {
		ses_op_refuse(op, 400, "invalid_session_id",
		              "SANDBOX_SESSION_ID from the front is not 32 lowercase hex digits",
		              "session_id");
		return -1;
	}
	snprintf(m->id, sizeof m->id, "%s", sid);
	snprintf(op->id, sizeof op->id, "%s", sid);
	return 0;
}

static void handle_create(struct ses_op *op)
{
	struct svc *s = op->s;
	struct req_session rs;
	struct req_error err;
	struct ses_error e;
	struct ses_meta m;
	char loc[128];
	json_t *body;

	if (check_json_headers(op) < 0)
		return;
	svc_refresh_registry(s);
	if (req_parse_session_stream(http_body_read, op->r, &s->cfg.req, &s->reg, &rs, &err) < 0) {
		ses_op_refuse(op, err.http_status > 0 ? err.http_status : 400, err.code, err.message,
		              err.field);
		return;
	}
	memset(&m, 0, sizeof m);
	memset(&e, 0, sizeof e);
	if (given_id(op, &m) < 0) {
		req_session_free(&rs);
		return;
	}
	snprintf(m.tmpl, sizeof m.tmpl, "%s", rs.tmpl->name);
	m.idle_timeout_s = (uint32_t)rs.idle_timeout_s;
	m.disk_bytes = rs.disk_mb << 20;
	m.defaults = rs.defaults;
	rs.defaults = NULL;
	if (ses_create(&s->store, &m, (uint32_t)rs.ttl_s, ses_now_ceil(), &e) != 0) {
		ses_meta_clear(&m);
		ses_op_fail(op, &e);
		return;
	}
	snprintf(op->id, sizeof op->id, "%s", m.id);
	body = ses_json_meta(&s->store, &m);
	ses_op_done(op, 201, json_pack("{s:s, s:I, s:I, s:I}", "template", m.tmpl,
	                               "ttl_s", (json_int_t)rs.ttl_s,
	                               "idle_timeout_s", (json_int_t)rs.idle_timeout_s,
	                               "disk_mb", (json_int_t)rs.disk_mb));
	ses_meta_clear(&m);
	snprintf(loc, sizeof loc, "Location: " ROUTE_SESSIONS "/%s\r\n", op->id);
	http_send_json(op->r, 201, body, loc);
}

struct list_ctx {
	struct ses_store *st;
	int64_t now;
	json_t *arr;
};

static int list_one(const char *id, void *ctx)
{
	struct list_ctx *c = ctx;
	struct ses_error e;
	struct ses_meta m;

	/* Expired, vanished or unreadable sessions are not listed. */
	if (ses_load(c->st, id, c->now, &m, &e) != 0)
		return 0;
	json_array_append_new(c->arr, ses_json_meta(c->st, &m));
	ses_meta_clear(&m);
	return 0;
}

static void handle_list(struct ses_op *op)
{
	struct list_ctx c = { &op->s->store, (int64_t)time(NULL), json_array() };
	struct ses_error e;

	memset(&e, 0, sizeof e);
	if (!c.arr || ses_each(c.st, list_one, &c, &e) != 0) {
		json_decref(c.arr);
		ses_op_fail(op, &e);
		return;
	}
	ses_op_done(op, 200, json_pack("{s:I}", "sessions", (json_int_t)json_array_size(c.arr)));
	http_send_json(op->r, 200, json_pack("{s:o}", "sessions", c.arr), NULL);
}

static void handle_get(struct ses_op *op)
{
	int64_t now = (int64_t)time(NULL), used = ses_now_ceil();
	struct ses_error e;
	struct ses_meta m;
	json_t *body;

	memset(&e, 0, sizeof e);
	if (ses_load(&op->s->store, op->id, now, &m, &e) != 0) {
		ses_op_fail(op, &e);
		return;
	}
	/* Looking at a session is using it (docs/SESSIONS.md). */
	if (ses_touch(&op->s->store, op->id, used, &e) == 0 && m.last_used < used)
		m.last_used = used;
	body = ses_json_meta(&op->s->store, &m);
	ses_meta_clear(&m);
	ses_op_done(op, 200, NULL);
	http_send_json(op->r, 200, body, NULL);
}

static void handle_delete(struct ses_op *op)
{
	struct ses_error e;
	struct ses_meta m;
	bool waited = false;

	memset(&e, 0, sizeof e);
	/* An expired session is already gone for the API (404), even if the
	 * sweep has not removed it yet. */
	if (ses_load(&op->s->store, op->id, (int64_t)time(NULL), &m, &e) != 0) {
		ses_op_fail(op, &e);
		return;
	}
	ses_meta_clear(&m);
	if (ses_delete_wait(&op->s->store, op->id, svc_delete_wait_ms(op->s), &waited, &e) != 0) {
		ses_op_fail(op, &e);
		return;
	}
	ses_op_done(op, 204, json_pack("{s:b}", "waited_for_run", waited));
	http_send_empty(op->r, 204, NULL);
}

void svc_handle_session(struct svc *s, struct http_req *r, const struct route *rt)
{
	struct ses_op op = { .s = s, .r = r, .op = "session" };

	switch (rt->id) {
	case ROUTE_SES_CREATE:
		op.op = "create";
		handle_create(&op);
		return;
	case ROUTE_SES_LIST:
		op.op = "list";
		handle_list(&op);
		return;
	case ROUTE_SES_GET:
		op.op = "get";
		break;
	case ROUTE_SES_DELETE:
		op.op = "delete";
		break;
	default:
		http_send_error(r, 404, "not_found", "no such endpoint", NULL, NULL);
		return;
	}
	if (ses_op_id(&op, rt) < 0)
		return;
	if (rt->id == ROUTE_SES_GET)
		handle_get(&op);
	else
		handle_delete(&op);
}

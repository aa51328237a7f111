/*
 * runs.c - the asynchronous runs API (docs/API.md, "Asynchronous runs"):
 * POST /runs and /runs/batch validate each body exactly as POST /run does
 * and keep it on disk (src/async), answering 202 at once; GET /runs/{id}
 * (optionally a long poll), GET /runs?ids=, DELETE /runs/{id}. The runs
 * themselves are executed by idle responders (async_exec.c).
 */
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <sys/stat.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "api/req.h"
#include "fcgi/log.h"
#include "fcgi/route.h"
#include "fcgi/svc.h"

int64_t svc_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int unavailable(struct http_req *r)
{
	return http_send_error(r, 503, "async_unavailable",
	                       "asynchronous runs are not available: the state directory "
	                       "could not be used (see the responder's log)", NULL, NULL);
}

static void send_aq_error(struct http_req *r, const struct aq_error *e, const char *field)
{
	if (e->status >= 500)
		log_event("error", "sandbox.async.failure",
		          json_pack("{s:s, s:s, s:s}", "request_id", r->request_id, "code", e->code,
		                    "message", e->msg));
	http_send_error(r, e->status, e->code, e->msg, field, NULL);
}

/* One run of a submission, checked and ready to keep. */
struct pending {
	struct aq_state st;
	char *body;                  /* the validated body without id/callback_url */
};

/* Sets err's field to prefix + field ("runs[3].limits.wall_time_ms"). */
static void prefix_field(struct req_error *err, const char *prefix)
{
	char f[sizeof err->field + 40];

	if (!prefix[0])
		return;
	snprintf(f, sizeof f, "%s%s%s", prefix, err->field[0] ? "." : "", err->field);
	snprintf(err->field, sizeof err->field, "%.127s", f);
}

static int field_fail(struct req_error *err, const char *prefix, const char *field,
                      const char *msg)
{
	err->http_status = 400;
	snprintf(err->code, sizeof err->code, "invalid_field");
	snprintf(err->field, sizeof err->field, "%s", field);
	snprintf(err->message, sizeof err->message, "%s", msg);
	prefix_field(err, prefix);
	return -1;
}

/* Takes "id" and "callback_url" out of obj, then validates the rest as
 * POST /run would (same errors, same statuses). */
static int prepare(struct svc *s, json_t *obj, const char *prefix, const char *request_id,
                   struct pending *p, struct req_error *err)
{
	json_t *v;
	struct req_job job;

	memset(p, 0, sizeof *p);
	if (!json_is_object(obj)) {
		err->http_status = 400;
		snprintf(err->code, sizeof err->code, "invalid_json");
		snprintf(err->message, sizeof err->message, "a run must be a JSON object");
		err->field[0] = '\0';
		prefix_field(err, prefix);
		return -1;
	}
	if ((v = json_object_get(obj, "id"))) {
		if (!json_is_string(v) || !aq_id_valid(json_string_value(v)))
			return field_fail(err, prefix, "id", "id: 1 to 64 of [A-Za-z0-9_-] (not "
			                  "\"queue\", \"running\" or \"slots\")");
		snprintf(p->st.id, sizeof p->st.id, "%s", json_string_value(v));
		json_object_del(obj, "id");
	} else if (aq_id_new(p->st.id) != 0) {
		err->http_status = 500;
		snprintf(err->code, sizeof err->code, "internal");
		snprintf(err->message, sizeof err->message, "no random id");
		return -1;
	}
	if ((v = json_object_get(obj, "callback_url"))) {
		char why[200], msg[256];

		/* The allowlist applies here, at submission (src/callback/cb.h):
		 * a run is refused rather than accepted with a callback that
		 * would never go out. The deliverer checks again. */
		if (!json_is_string(v))
			return field_fail(err, prefix, "callback_url", "callback_url: a string, an "
			                  "http:// or https:// URL");
		if (cb_url_check(&s->cfg.cb, json_string_value(v), why, sizeof why) < 0) {
			snprintf(msg, sizeof msg, "callback_url: %s", why);
			return field_fail(err, prefix, "callback_url", msg);
		}
		snprintf(p->st.callback_url, sizeof p->st.callback_url, "%s", json_string_value(v));
		json_object_del(obj, "callback_url");
	}
	if (req_parse_run_json(obj, &s->async_req, &s->reg, &job, err) < 0) {
		prefix_field(err, prefix);
		return -1;
	}
	req_job_free(&job);
	if (!(p->body = json_dumps(obj, JSON_COMPACT))) {
		err->http_status = 500;
		snprintf(err->code, sizeof err->code, "internal");
		snprintf(err->message, sizeof err->message, "out of memory");
		return -1;
	}
	snprintf(p->st.request_id, sizeof p->st.request_id, "%s", request_id);
	return 0;
}

static json_t *accepted_json(const struct aq_state *st)
{
	char t[40], url[sizeof ROUTE_RUNS + AQ_ID_MAX + 2];

	aq_time_fmt(st->created_ms, t, sizeof t);
	snprintf(url, sizeof url, ROUTE_RUNS "/%s", st->id);
	return json_pack("{s:s, s:s, s:s, s:s}", "run_id", st->id, "status", "queued",
	                 "created_at", t, "url", url);
}

static void log_accepted(const struct http_req *r, const struct aq_state *st)
{
	log_event("info", "sandbox.async.accepted",
	          json_pack("{s:s, s:s, s:b}", "request_id", r->request_id, "run_id", st->id,
	                    "callback", st->callback_url[0] != '\0'));
}

/* Keeps the runs, then queues them in order: a failure while keeping them
 * discards those kept (never queued, so never run), so that a batch is
 * accepted whole or not at all. */
static int keep_all(struct svc *s, struct http_req *r, struct pending *p, size_t n,
                    struct aq_error *e, size_t *failed)
{
	for (size_t i = 0; i < n; i++) {
		p[i].st.created_ms = svc_now_ms();
		if (aq_prepare(&s->aq, &p[i].st, now_ns(), p[i].body, strlen(p[i].body), e) < 0) {
			for (size_t j = 0; j < i; j++)
				aq_discard(&s->aq, p[j].st.id);
			*failed = i;
			return -1;
		}
	}
	for (size_t i = 0; i < n; i++) {
		if (aq_enqueue(&s->aq, &p[i].st, e) < 0) {
			/* Those before are queued and may run: cancel them. */
			struct aq_state dummy;

			for (size_t j = 0; j < i; j++)
				aq_cancel(&s->aq, p[j].st.id, svc_now_ms(), &dummy, NULL);
			for (size_t j = i; j < n; j++)
				aq_discard(&s->aq, p[j].st.id);
			*failed = i;
			return -1;
		}
		log_accepted(r, &p[i].st);
	}
	return 0;
}

static bool dup_ids(const struct pending *p, size_t n, size_t *at)
{
	for (size_t i = 1; i < n; i++)
		for (size_t j = 0; j < i; j++)
			if (strcmp(p[i].st.id, p[j].st.id) == 0) {
				*at = i;
				return true;
			}
	return false;
}

static void answer_accepted(struct http_req *r, struct pending *p, size_t n, bool batch)
{
	char hdr[sizeof ROUTE_RUNS + AQ_ID_MAX + 32];
	json_t *body, *arr;

	if (!batch) {
		snprintf(hdr, sizeof hdr, "Location: " ROUTE_RUNS "/%s\r\n", p[0].st.id);
		http_send_json(r, 202, accepted_json(&p[0].st), hdr);
		return;
	}
	arr = json_array();
	for (size_t i = 0; i < n; i++)
		json_array_append_new(arr, accepted_json(&p[i].st));
	body = json_pack("{s:o}", "runs", arr);
	http_send_json(r, 202, body, NULL);
}

/* The runs of a submission: the body itself, or its "runs" array. */
static json_t *runs_of(struct svc *s, json_t *root, bool batch, struct req_error *err)
{
	json_t *runs;
	const char *key;
	json_t *v;

	if (!batch)
		return json_pack("[O]", root);
	if (!json_is_object(root)) {
		err->http_status = 400;
		snprintf(err->code, sizeof err->code, "invalid_json");
		snprintf(err->message, sizeof err->message, "the request body must be a JSON object");
		return NULL;
	}
	json_object_foreach(root, key, v) {
		if (strcmp(key, "runs") != 0) {
			err->http_status = 400;
			snprintf(err->code, sizeof err->code, "unknown_field");
			snprintf(err->field, sizeof err->field, "%.100s", key);
			snprintf(err->message, sizeof err->message, "unknown field '%.100s'", key);
			return NULL;
		}
	}
	runs = json_object_get(root, "runs");
	if (!json_is_array(runs) || json_array_size(runs) == 0) {
		field_fail(err, "", "runs", "runs: a non-empty array of run requests");
		return NULL;
	}
	if (json_array_size(runs) > s->cfg.max_batch_runs) {
		err->http_status = 413;
		snprintf(err->code, sizeof err->code, "too_large");
		snprintf(err->field, sizeof err->field, "runs");
		snprintf(err->message, sizeof err->message, "a batch holds at most %" PRIu64 " runs",
		         s->cfg.max_batch_runs);
		return NULL;
	}
	return json_incref(runs);
}

/* The disk holds at most --max-queued-runs waiting runs (each up to the
 * body cap): beyond that a submission is refused, not kept. */
static bool queue_full(struct svc *s, size_t n)
{
	size_t queued = 0, running = 0;

	aq_counts(&s->aq, &queued, &running);
	return queued + n > s->cfg.max_queued_runs;
}

void svc_handle_runs_submit(struct svc *s, struct http_req *r, bool batch)
{
	struct req_error err;
	struct aq_error ae;
	struct pending *p = NULL;
	json_t *root, *runs = NULL;
	size_t n = 0, at = 0;
	char prefix[32] = "";

	if (!s->aq_ok) {
		unavailable(r);
		return;
	}
	if (svc_check_json_headers(s, r) < 0)
		return;
	svc_refresh_registry(s);
	memset(&err, 0, sizeof err);
	root = req_load_body(http_body_read, r, &s->async_req, &err);
	if (root && (runs = runs_of(s, root, batch, &err))) {
		n = json_array_size(runs);
		p = calloc(n, sizeof *p);
		for (at = 0; p && at < n; at++) {
			if (batch)
				snprintf(prefix, sizeof prefix, "runs[%zu]", at);
			if (prepare(s, json_array_get(runs, at), prefix, r->request_id, &p[at], &err) < 0)
				break;
		}
		if (!p) {
			err.http_status = 500;
			snprintf(err.code, sizeof err.code, "internal");
			snprintf(err.message, sizeof err.message, "out of memory");
		}
	}
	if (root && runs && p && at == n && queue_full(s, n)) {
		http_send_error(r, 503, "queue_full", "too many asynchronous runs are waiting; "
		                "retry later", NULL, "Retry-After: 5\r\n");
	} else if (!root || !runs || !p || at < n) {
		http_send_error(r, err.http_status > 0 ? err.http_status : 400, err.code,
		                err.message, err.field[0] ? err.field : NULL, NULL);
	} else if (dup_ids(p, n, &at)) {
		snprintf(prefix, sizeof prefix, "runs[%zu].id", at);
		http_send_error(r, 409, "run_exists", "the same id twice in one batch", prefix, NULL);
	} else if (keep_all(s, r, p, n, &ae, &at) < 0) {
		snprintf(prefix, sizeof prefix, batch ? "runs[%zu].id" : "id", at);
		send_aq_error(r, &ae, ae.status == 409 ? prefix : NULL);
	} else {
		answer_accepted(r, p, n, batch);
	}
	for (size_t i = 0; p && i < n; i++)
		free(p[i].body);
	free(p);
	json_decref(runs);
	json_decref(root);
}

/* --- reading runs ------------------------------------------------------- */

static json_t *state_json(const struct aq_state *st)
{
	char t[40];
	json_t *o = json_pack("{s:s, s:s}", "run_id", st->id, "status", aq_status_name(st->status));

	aq_time_fmt(st->created_ms, t, sizeof t);
	json_object_set_new(o, "created_at", json_string(t));
	if (st->started_ms) {
		aq_time_fmt(st->started_ms, t, sizeof t);
		json_object_set_new(o, "started_at", json_string(t));
	}
	if (st->finished_ms) {
		aq_time_fmt(st->finished_ms, t, sizeof t);
		json_object_set_new(o, "finished_at", json_string(t));
	}
	if (st->error_code[0]) {
		json_t *e = resp_error(st->error_code, st->error_msg,
		                       st->error_field[0] ? st->error_field : NULL);
		json_t *inner = json_incref(json_object_get(e, "error"));

		if (st->error_http)
			json_object_set_new(inner, "http_status", json_integer(st->error_http));
		json_object_set_new(o, "error", inner);
		json_decref(e);
	}
	return o;
}

/* Writes one run object (with request_id when given); its kept result
 * (done or cancelled) goes out byte for byte from result.json, never
 * parsed: it may be megabytes of output. */
static int put_run(struct svc *s, struct http_req *r, const struct aq_state *st,
                   const char *request_id)
{
	json_t *o = state_json(st);
	char *text;
	int fd = -1, rc = 0;
	char buf[65536];
	ssize_t n;

	if (o && request_id)
		json_object_set_new(o, "request_id", json_string(request_id));
	text = o ? json_dumps(o, JSON_COMPACT) : NULL;
	json_decref(o);
	if (!text)
		return -1;
	if (st->status == AQ_DONE || st->status == AQ_CANCELLED)
		fd = aq_result_open(&s->aq, st->id);
	if (fd < 0) {
		rc = http_put(r, text, strlen(text));
	} else {
		rc = http_put(r, text, strlen(text) - 1);
		if (rc == 0)
			rc = http_put(r, ",\"result\":", 10);
		while (rc == 0 && (n = read(fd, buf, sizeof buf)) > 0)
			rc = http_put(r, buf, (size_t)n);
		if (rc == 0)
			rc = http_put(r, "}", 1);
		close(fd);
	}
	free(text);
	return rc;
}

/* result.json whole, at most max bytes; NULL with errno. */
static char *read_result(struct svc *s, const char *id, size_t max, size_t *outlen)
{
	int fd = aq_result_open(&s->aq, id);
	size_t cap = 65536, len = 0;
	char *buf = fd >= 0 ? malloc(cap) : NULL;
	ssize_t n;

	while (buf && (n = read(fd, buf + len, cap - len)) > 0) {
		char *b;

		len += (size_t)n;
		if (len < cap)
			continue;
		b = cap < max ? realloc(buf, cap * 2 > max ? max + 1 : cap * 2) : NULL;
		if (!b) {
			free(buf);
			buf = NULL;
			errno = cap < max ? ENOMEM : EFBIG;
			break;
		}
		buf = b;
		cap = cap * 2 > max ? max + 1 : cap * 2;
	}
	if (fd >= 0)
		close(fd);
	if (buf)
		*outlen = len;
	return buf;
}

char *svc_run_text(struct svc *s, const struct aq_state *st, size_t max, size_t *outlen)
{
	json_t *o = state_json(st);
	char *text, *res = NULL, *out = NULL;
	size_t tlen, rlen = 0;

	if (o)
		json_object_set_new(o, "request_id", json_string(st->request_id));
	text = o ? json_dumps(o, JSON_COMPACT) : NULL;
	json_decref(o);
	if (!text)
		return NULL;
	tlen = strlen(text);
	if ((st->status == AQ_DONE || st->status == AQ_CANCELLED) &&
	    !(res = read_result(s, st->id, max, &rlen)) && errno != ENOENT) {
		free(text);
		return NULL;
	}
	if (!res) {
		*outlen = tlen;
		return text;
	}
	/* As put_run: the kept result goes in byte for byte. */
	if (tlen + rlen + 12 <= max + 12 && (out = malloc(tlen + rlen + 12))) {
		int n = snprintf(out, tlen + 12, "%.*s,\"result\":", (int)(tlen - 1), text);

		memcpy(out + n, res, rlen);
		out[n + rlen] = '}';
		out[n + rlen + 1] = '\0';
		*outlen = (size_t)n + rlen + 1;
	}
	free(res);
	free(text);
	return out;
}

static void send_run(struct svc *s, struct http_req *r, int status, const struct aq_state *st)
{
	if (http_begin(r, status, NULL) == 0 && put_run(s, r, st, r->request_id) == 0)
		http_end(r);
}

/* The {id} of the path, validated: 0, or answered (400) and -1. */
static int path_id(struct http_req *r, char *id, size_t len)
{
	if (route_run_id(r->path, id, len) < 0 || !aq_id_valid(id)) {
		http_send_error(r, 400, "invalid_run_id", "run id: 1 to 64 of [A-Za-z0-9_-]",
		                "run_id", NULL);
		return -1;
	}
	return 0;
}

static const char *query(const struct http_req *r)
{
	return FCGX_GetParam("QUERY_STRING", r->fx->envp);
}

/* ?wait=N: 0..max_wait_s (larger is cut to it), -1 when malformed. */
static int64_t wait_param(const struct svc *s, const struct http_req *r)
{
	char v[24];
	uint64_t n = 0;
	int got = http_query_get(query(r), "wait", v, sizeof v);

	if (got == 0)
		return 0;
	if (got < 0 || v[0] == '\0' || http_parse_length(v, &n) < 0)
		return -1;
	return (int64_t)(n < s->cfg.max_wait_s ? n : s->cfg.max_wait_s);
}

/* Waits up to timeout_ms; true when the long poll must end now: the client
 * is gone (nginx closed our connection) or another request waits for a
 * responder. */
static bool give_way(const struct svc *s, const struct http_req *r, int timeout_ms)
{
	struct pollfd p[2] = { { .fd = r->fx->ipcFd, .events = POLLRDHUP },
	                       { .fd = s->listen_fd, .events = POLLIN } };

	if (poll(p, 2, timeout_ms) <= 0)
		return false;
	return (p[0].revents & (POLLRDHUP | POLLHUP | POLLERR)) || (p[1].revents & POLLIN);
}

/* The long poll: at most wait_s, checking the state every 100 ms. It holds
 * this responder only while no other request waits for one: a connection
 * on the listening socket ends it at once with the current state, so long
 * polls never delay other requests by more than ~100 ms (docs/API.md).
 * wait_slots bounds how many responders poll at once; without a free slot
 * the answer is the current state at once. */
static int long_poll(struct svc *s, struct http_req *r, struct aq_state *st, int64_t wait_s,
                     struct aq_error *e)
{
	int64_t until = svc_now_ms() + wait_s * 1000;
	int slot;

	if (wait_s <= 0 || aq_status_final(st->status) || (slot = aq_slot_take(&s->aq, true)) < 0)
		return 0;
	while (!aq_status_final(st->status) && svc_now_ms() < until && !svc_stopping()) {
		if (give_way(s, r, 100))
			break;
		if (aq_load(&s->aq, st->id, st, e) < 0) {
			close(slot);
			return -1;
		}
	}
	close(slot);
	return 0;
}

void svc_handle_runs_get(struct svc *s, struct http_req *r)
{
	char id[AQ_ID_MAX + 2];
	struct aq_state st;
	struct aq_error e;
	int64_t wait_s;

	if (!s->aq_ok) {
		unavailable(r);
		return;
	}
	if (path_id(r, id, sizeof id) < 0)
		return;
	if ((wait_s = wait_param(s, r)) < 0) {
		http_send_error(r, 400, "invalid_field", "wait: a whole number of seconds", "wait",
		                NULL);
		return;
	}
	if (aq_load(&s->aq, id, &st, &e) < 0 || long_poll(s, r, &st, wait_s, &e) < 0) {
		send_aq_error(r, &e, e.status == 400 ? "run_id" : NULL);
		return;
	}
	send_run(s, r, 200, &st);
}

void svc_handle_runs_list(struct svc *s, struct http_req *r)
{
	char *ids, *save = NULL, *tok;
	size_t cap = (size_t)s->cfg.max_batch_runs * (AQ_ID_MAX + 1) + 1, n = 0;
	int got, rc;

	if (!s->aq_ok) {
		unavailable(r);
		return;
	}
	if (!(ids = malloc(cap))) {
		http_send_error(r, 500, "internal", "out of memory", NULL, NULL);
		return;
	}
	got = http_query_get(query(r), "ids", ids, cap);
	/* Every id checked before the answer starts. */
	for (char *p = got > 0 ? ids : NULL; p && *p; n++) {
		size_t l = strcspn(p, ",");
		char c = p[l];

		p[l] = '\0';
		rc = aq_id_valid(p);
		p[l] = c;
		if (!rc || n >= s->cfg.max_batch_runs) {
			got = -1;
			break;
		}
		p += l + (c == ',');
	}
	if (got <= 0 || n == 0) {
		free(ids);
		http_send_error(r, 400, "invalid_field", got == 0
		                ? "ids: the run ids to show, comma-separated (required)"
		                : "ids: at most --max-batch-runs ids of 1 to 64 of [A-Za-z0-9_-], "
		                  "comma-separated", "ids", NULL);
		return;
	}
	rc = http_begin(r, 200, NULL) < 0 ? -1 : http_put(r, "{\"runs\":[", 9);
	n = 0;
	for (tok = strtok_r(ids, ",", &save); tok && rc == 0; tok = strtok_r(NULL, ",", &save)) {
		struct aq_state st;

		if (n++ > 0)
			rc = http_put(r, ",", 1);
		if (rc == 0 && aq_load(&s->aq, tok, &st, NULL) == 0) {
			rc = put_run(s, r, &st, NULL);
		} else if (rc == 0) {
			json_t *o = json_pack("{s:s, s:s}", "run_id", tok, "status", "not_found");
			char *t = o ? json_dumps(o, JSON_COMPACT) : NULL;

			rc = t ? http_put(r, t, strlen(t)) : -1;
			free(t);
			json_decref(o);
		}
	}
	if (rc == 0) {
		char tail[HTTP_REQID_MAX + 32];

		snprintf(tail, sizeof tail, "],\"request_id\":\"%s\"}", r->request_id);
		if (http_put(r, tail, strlen(tail)) == 0)
			http_end(r);
	}
	free(ids);
}

void svc_handle_runs_cancel(struct svc *s, struct http_req *r)
{
	char id[AQ_ID_MAX + 2];
	struct aq_state st;
	struct aq_error e;
	int64_t until;

	if (!s->aq_ok) {
		unavailable(r);
		return;
	}
	if (path_id(r, id, sizeof id) < 0)
		return;
	if (aq_cancel(&s->aq, id, svc_now_ms(), &st, &e) < 0) {
		send_aq_error(r, &e, NULL);
		return;
	}
	if (st.status == AQ_CANCELLED)
		log_event("info", "sandbox.async.cancelled",
		          json_pack("{s:s, s:s, s:s}", "request_id", r->request_id, "run_id", id,
		                    "was", "queued"));
	/* A running run: its executor kills the jail within ~100 ms and saves
	 * the state; wait a little for it so that the answer is final. */
	until = svc_now_ms() + 2000;
	while (!aq_status_final(st.status) && svc_now_ms() < until) {
		struct timespec ts = { 0, 20 * 1000000 };

		nanosleep(&ts, NULL);
		if (aq_load(&s->aq, id, &st, &e) < 0) {
			send_aq_error(r, &e, NULL);
			return;
		}
	}
	send_run(s, r, aq_status_final(st.status) ? 200 : 202, &st);
}

/* --- GET /runs/{id}/events ------------------------------------------------ */

/* What ended the wait of a stream: nothing (0), the client left (1), or
 * another request waits for a responder (2). */
static int events_wait(const struct svc *s, const struct http_req *r, int timeout_ms)
{
	struct pollfd p[2] = { { .fd = r->fx->ipcFd, .events = POLLRDHUP },
	                       { .fd = s->listen_fd, .events = POLLIN } };

	if (poll(p, 2, timeout_ms) <= 0)
		return 0;
	if (p[0].revents & (POLLRDHUP | POLLHUP | POLLERR))
		return 1;
	return (p[1].revents & POLLIN) ? 2 : 0;
}

/* Sends what events.ndjson holds past *offset; remembers whether the last
 * line sent is the "end" line. 0, or -1 when the client is gone. */
static int events_drain(struct http_req *r, int fd, uint64_t *offset, bool *ended)
{
	static const char end[] = "{\"type\":\"end\"";
	char buf[65536];
	ssize_t n;

	while ((n = pread(fd, buf, sizeof buf, (off_t)*offset)) > 0) {
		/* Only whole lines: a line being appended is sent next time. */
		ssize_t whole = n;

		while (whole > 0 && buf[whole - 1] != '\n')
			whole--;
		if (whole == 0)
			break;
		if (http_put(r, buf, (size_t)whole) < 0 || http_flush(r) < 0)
			return -1;
		*offset += (uint64_t)whole;
		/* The end line is short and always the last one. */
		{
			ssize_t ls = whole - 1;

			while (ls > 0 && buf[ls - 1] != '\n')
				ls--;
			*ended = (size_t)(whole - ls) > sizeof end - 1 &&
			         memcmp(buf + ls, end, sizeof end - 1) == 0;
		}
		if (whole < n)
			break;
	}
	return 0;
}

static int events_line(struct http_req *r, json_t *o)
{
	char *t = o ? json_dumps(o, JSON_COMPACT) : NULL;
	int rc = t ? http_put(r, t, strlen(t)) : -1;

	free(t);
	json_decref(o);
	return rc == 0 ? http_put(r, "\n", 1) : -1;
}

/* ?offset=N: a byte offset a "pause" line gave, 0 by default; -1 bad. */
static int offset_param(const struct http_req *r, uint64_t *out)
{
	char v[24];
	int got = http_query_get(query(r), "offset", v, sizeof v);

	*out = 0;
	if (got == 0)
		return 0;
	return got < 0 || v[0] == '\0' || http_parse_length(v, out) < 0 ? -1 : 0;
}

void svc_handle_runs_events(struct svc *s, struct http_req *r)
{
	char id[AQ_ID_MAX + 2];
	struct aq_state st;
	struct aq_error e;
	uint64_t offset;
	struct stat sb;
	int fd, slot, why = 0;
	bool ended = false;
	int64_t until = svc_now_ms() + (int64_t)s->cfg.max_wait_s * 1000;

	if (!s->aq_ok) {
		unavailable(r);
		return;
	}
	if (path_id(r, id, sizeof id) < 0)
		return;
	if (offset_param(r, &offset) < 0) {
		http_send_error(r, 400, "invalid_field", "offset: a byte offset from a \"pause\" line",
		                "offset", NULL);
		return;
	}
	if (aq_load(&s->aq, id, &st, &e) < 0) {
		send_aq_error(r, &e, NULL);
		return;
	}
	fd = aq_events_open(&s->aq, id, false);
	if (offset > 0 && (fd < 0 || fstat(fd, &sb) != 0 || (uint64_t)sb.st_size < offset)) {
		if (fd >= 0)
			close(fd);
		http_send_error(r, 400, "invalid_field", "offset: beyond the run's output", "offset",
		                NULL);
		return;
	}
	if (http_begin_type(r, 200, "application/x-ndjson", "X-Accel-Buffering: no\r\n") < 0 ||
	    r->head) {
		if (fd >= 0)
			close(fd);
		http_end(r);
		return;
	}
	/* Like a long poll: at most wait_slots at once, never longer than
	 * --max-wait-s per connection, and it gives way to a waiting request;
	 * then a "pause" line tells the client where to go on from. */
	slot = aq_slot_take(&s->aq, true);
	for (;;) {
		bool final = aq_status_final(st.status);

		if (fd < 0)
			fd = aq_events_open(&s->aq, id, false);
		if (fd >= 0 && events_drain(r, fd, &offset, &ended) < 0) {
			why = 1;
			break;
		}
		if (final)
			break;
		if (slot < 0 || svc_now_ms() >= until || svc_stopping()) {
			why = 2;
			break;
		}
		if ((why = events_wait(s, r, 100)) != 0)
			break;
		if (aq_load(&s->aq, id, &st, &e) < 0) {
			why = 1;
			break;
		}
	}
	if (why == 0 && !ended)
		/* finished without the executor's line (cancelled while queued,
		 * interrupted): the state says how */
		events_line(r, json_pack("{s:s, s:s, s:s}", "type", "end", "run_id", st.id, "status",
		                         aq_status_name(st.status)));
	else if (why == 2)
		events_line(r, json_pack("{s:s, s:I}", "type", "pause", "offset", (json_int_t)offset));
	if (why != 1)
		http_flush(r);
	if (fd >= 0)
		close(fd);
	if (slot >= 0)
		close(slot);
}

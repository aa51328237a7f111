/*
 * stream.c - a run streamed to the client as NDJSON lines (stream.h).
 *
 * The jail's supervisor calls us (jail_spec.on_output) with each read of
 * the program's stdout and stderr, inside the loop that enforces the wall
 * clock and watches the client's hang-up: we must not block there. A
 * client (or nginx behind it) that reads slower than the program writes
 * would otherwise stop the supervisor in write() on our FastCGI socket,
 * and with it the job's time limit. So during the run output is written
 * only while the socket says it takes more (poll POLLOUT, which on a unix
 * or TCP socket means a good part of its buffer is free, far more than one
 * piece), a piece at a time and a bounded amount per call; the rest waits
 * in a queue of raw bytes. That queue holds at most what the jail keeps
 * anyway (output within max_output_bytes), so the responder's memory stays
 * bounded by the caps: at most the output once more, plus one line. After
 * the run (no clock to keep) the queue and the result are written with
 * ordinary blocking writes, as the whole answer is.
 *
 * Each read becomes one line flushed at once: output that comes in bursts
 * is coalesced by the pipe itself, and a line is never held back waiting
 * for more. Queued reads of the same stream are joined (up to a read's
 * size) into one line.
 */
#include "fcgi/stream.h"

#include <poll.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "api/resp_stream.h"

#define ST_PIECE 16384                 /* bytes per write + flush */
#define ST_TURN_BYTES (256u << 10)     /* at most this per callback */
#define ST_REC_MAX 65536               /* a queued record: one line */

struct st_rec {
	size_t step;
	int stream;
	size_t len;                        /* bytes following the header */
};

struct st {
	struct http_req *r;
	const struct jail_spec *spec;
	bool named_steps;                  /* lines say "step" (compiled runtimes) */
	bool dead;                         /* a write failed: the client left */
	bool oom;                          /* output was lost: the stream ends in an error */
	/* Raw output not yet made into lines: st_rec headers and their bytes. */
	unsigned char *q;
	size_t qhead, qlen, qalloc, qlast; /* qlast: the last header, SIZE_MAX none */
	/* Formatted bytes on their way out. */
	struct resp_nd_buf line;
	size_t line_off;
	struct resp_nd_carry carry[2];     /* stdout, stderr */
	size_t carry_step;
};

static bool st_writable(const struct st *s)
{
	struct pollfd p = { .fd = s->r->fx->ipcFd, .events = POLLOUT };

	return poll(&p, 1, 0) == 1 && (p.revents & POLLOUT) && !(p.revents & (POLLERR | POLLHUP));
}

/* ---- the queue of raw output ---- */

static int st_q_reserve(struct st *s, size_t more)
{
	if (s->qhead && s->qhead == s->qlen) {
		s->qhead = s->qlen = 0;        /* drained: start over */
		s->qlast = SIZE_MAX;
	} else if (s->qhead > s->qalloc / 2) {
		memmove(s->q, s->q + s->qhead, s->qlen - s->qhead);
		s->qlen -= s->qhead;
		if (s->qlast != SIZE_MAX)
			s->qlast -= s->qhead;
		s->qhead = 0;
	}
	if (s->qalloc - s->qlen >= more)
		return 0;
	size_t na = s->qalloc ? s->qalloc : 65536;
	while (na - s->qlen < more)
		na *= 2;
	unsigned char *nq = realloc(s->q, na);
	if (!nq)
		return -1;
	s->q = nq;
	s->qalloc = na;
	return 0;
}

static void st_q_push(struct st *s, size_t step, int stream, const char *data, size_t len)
{
	struct st_rec h;

	if (s->qlast != SIZE_MAX) {
		memcpy(&h, s->q + s->qlast, sizeof h);
		if (h.step == step && h.stream == stream && h.len + len <= ST_REC_MAX &&
		    st_q_reserve(s, len) == 0 && s->qlast != SIZE_MAX) {
			memcpy(s->q + s->qlen, data, len);
			s->qlen += len;
			h.len += len;
			memcpy(s->q + s->qlast, &h, sizeof h);
			return;
		}
	}
	if (st_q_reserve(s, sizeof h + len) < 0) {
		s->oom = true;
		return;
	}
	h = (struct st_rec){ .step = step, .stream = stream, .len = len };
	s->qlast = s->qlen;
	memcpy(s->q + s->qlen, &h, sizeof h);
	memcpy(s->q + s->qlen + sizeof h, data, len);
	s->qlen += sizeof h + len;
}

/* ---- lines ---- */

static const char *st_step_name(const struct st *s, size_t step)
{
	if (!s->named_steps || step >= s->spec->nsteps)
		return NULL;
	return s->spec->steps[step].name;
}

/* The held bytes of both streams of a step that ended go out as they are. */
static int st_end_carries(struct st *s)
{
	for (int i = 0; i < 2; i++)
		if (s->carry[i].n &&
		    resp_nd_output(&s->line, &s->carry[i], st_step_name(s, s->carry_step), i + 1,
		                   NULL, 0, true) < 0)
			return -1;
	return 0;
}

/* Makes the next queued record into s->line; false when there is none. */
static bool st_next_line(struct st *s)
{
	struct st_rec h;

	s->line.len = s->line_off = 0;
	if (s->qhead == s->qlen)
		return false;
	memcpy(&h, s->q + s->qhead, sizeof h);
	if (s->qhead == s->qlast)
		s->qlast = SIZE_MAX;           /* no longer joinable: it is being sent */
	if (h.step != s->carry_step) {
		if (st_end_carries(s) < 0)
			s->oom = true;
		s->carry_step = h.step;
	}
	if (resp_nd_output(&s->line, &s->carry[h.stream - 1], st_step_name(s, h.step), h.stream,
	                   (const char *)s->q + s->qhead + sizeof h, h.len, false) < 0)
		s->oom = true;
	s->qhead += sizeof h + h.len;
	return true;
}

/* Writes lines out: while the socket takes them and at most budget bytes
 * (block false: during the run), or all of them (block true). */
static void st_pump(struct st *s, bool block, size_t budget)
{
	FCGX_Stream *out = s->r->fx->out;

	while (!s->dead) {
		if (s->line_off == s->line.len) {
			if (!st_next_line(s))
				return;
			continue;
		}
		if (!block && (budget == 0 || !st_writable(s)))
			return;
		size_t n = s->line.len - s->line_off;
		if (n > ST_PIECE)
			n = ST_PIECE;
		if (FCGX_PutStr(s->line.p + s->line_off, (int)n, out) != (int)n || FCGX_FFlush(out) < 0) {
			s->dead = true;
			return;
		}
		s->line_off += n;
		budget = budget > n ? budget - n : 0;
	}
}

/* jail_spec.on_output: bytes within the cap, as read. */
static void st_on_output(void *arg, size_t step, int stream, const char *data, size_t len)
{
	struct st *s = arg;

	if (s->dead || s->oom || (stream != 1 && stream != 2) || len == 0)
		return;
	st_q_push(s, step, stream, data, len);
	st_pump(s, false, ST_TURN_BYTES);
}

/* ---- the answer ---- */

static int st_put(const char *buf, size_t len, void *data)
{
	struct st *s = data;

	if (s->dead || FCGX_PutStr(buf, (int)len, s->r->fx->out) != (int)len) {
		s->dead = true;
		return -1;
	}
	return 0;
}

static void st_send_line(struct st *s)
{
	s->line_off = 0;
	st_pump(s, true, 0);
}

static void st_head(struct st *s)
{
	/* X-Accel-Buffering: nginx passes each line on as it comes instead of
	 * collecting the answer in its buffers (it does not forward the
	 * header); no-transform: nor should a proxy after it. */
	if (FCGX_FPrintF(s->r->fx->out, "Status: 200 OK\r\nContent-Type: application/x-ndjson\r\n"
	                 "Cache-Control: no-store, no-transform\r\nX-Accel-Buffering: no\r\n"
	                 "X-Request-Id: %s\r\n\r\n", s->r->request_id) < 0)
		s->dead = true;
	s->line.len = 0;
	if (resp_nd_start(&s->line, s->r->request_id) < 0)
		s->line.len = 0;
	st_send_line(s);
	if (!s->dead && FCGX_FFlush(s->r->fx->out) < 0)
		s->dead = true;
}

/* After the run: what is queued, the held bytes, then the last line. */
static void st_finish(struct st *s, int rc, struct jail_result *res, const struct resp_opts *o)
{
	struct resp_opts ro = *o;

	st_pump(s, true, 0);
	s->line.len = s->line_off = 0;
	if (st_end_carries(s) < 0)
		s->oom = true;
	st_send_line(s);
	s->line.len = 0;
	if (rc < 0) {
		if (resp_nd_error(&s->line, resp_sandbox_failure(&res->error, false), s->r->request_id) == 0)
			st_send_line(s);
	} else if (s->oom) {
		/* Output was lost on the way: not a result a client could trust. */
		if (resp_nd_error(&s->line, resp_error("internal", "out of memory while streaming "
		                  "the output", NULL), s->r->request_id) == 0)
			st_send_line(s);
	} else if (!s->dead) {
		ro.request_id = s->r->request_id;
		ro.output_streamed = true;
		if (resp_nd_result(res, &ro, st_put, s) < 0 && !s->dead) {
			/* Out of memory mid-way: end the line, then say so. */
			s->line.len = 0;
			if (st_put("\n", 1, s) == 0 &&
			    resp_nd_error(&s->line, resp_error("internal", "out of memory", NULL),
			                  s->r->request_id) == 0)
				st_send_line(s);
		}
	}
	if (!s->dead)
		FCGX_FFlush(s->r->fx->out);
}

int stream_run(struct http_req *r, struct jail *j, struct jail_spec *spec,
               struct jail_result *res, const struct resp_opts *o)
{
	struct st s = { .r = r, .spec = spec, .named_steps = o->has_compile, .qlast = SIZE_MAX };
	int rc;

	st_head(&s);
	spec->on_output = st_on_output;
	spec->output_arg = &s;
	rc = jail_run(j, spec, res);
	spec->on_output = NULL;
	spec->output_arg = NULL;
	st_finish(&s, rc, res, o);
	free(s.q);
	resp_nd_buf_free(&s.line);
	return rc;
}

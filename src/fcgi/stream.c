/*
 * stream.c - a run streamed to the client as NDJSON lines (stream.h).
 *
 * The jail's supervisor calls us (jail_spec.on_output) with each read of
 * the program's stdout and stderr, inside the loop that enforces the wall
 * clock and watches the client's hang-up: we must not block there. A
 * client (or nginx behind it) that reads slower than the program writes
 * would otherwise stop the supervisor in write() on our FastCGI socket,
 * and with it the job's time limit. So during the run lines are written
 * only while the socket says it takes more (poll POLLOUT, which on a unix
 * or TCP socket means a good part of its buffer is free, more than one
 * piece: ST_PIECE), a piece at a time and a bounded amount per call. What waits is
 * not copied: the bytes are in the jail's own capture buffers (the
 * result's out/err, where on_output's data points), so we keep only how
 * far each stream was given and sent, and a small ring of reads saying in
 * which order the streams came. The responder's memory for a stream is
 * then one line (at most 6 x 64 KiB) whatever the client does. After the
 * run (no clock to keep) the rest and the result are written with
 * ordinary blocking writes, as the whole answer is.
 *
 * Each read becomes one line flushed at once: output that comes in bursts
 * is coalesced by the pipe itself, and a line is never held back waiting
 * for more. While the client lags, reads of the same stream in a row are
 * joined (up to 64 KiB a line); if more than ST_RING runs of reads wait,
 * the later ones lose their order between stdout and stderr (each stream
 * stays in order) and go out step by step, stdout first.
 */
#include "fcgi/stream.h"

#include <poll.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "api/resp_stream.h"

/* Bytes per write + flush during the run. POLLOUT leaves at least a third
 * of the send buffer free on TCP (free >= queued / 2) and three quarters on
 * a unix socket; the smallest TCP send buffer is 16 KiB (tcp_wmem), so a
 * piece of 4 KiB (and its 8-byte record header) never waits after it. */
#define ST_PIECE 4096
#define ST_TURN_BYTES (256u << 10)     /* at most this per callback: bounded time */
#define ST_LINE_MAX 65536              /* output bytes per line */
#define ST_RING 256                    /* runs of reads remembered in order */

/* A run of reads of one stream, in the order they came: its bytes are the
 * next len of that stream after those sent. */
struct st_run {
	unsigned char step, stream;
	size_t len;
};

struct st {
	struct http_req *r;
	const struct jail_spec *spec;
	const struct jail_result *res;     /* the jail's buffers: the output */
	bool named_steps;                  /* lines say "step" (compiled runtimes) */
	bool dead;                         /* a write failed: the client left */
	bool oom;                          /* output was lost: the stream ends in an error */
	size_t given[JAIL_MAX_STEPS][2];   /* bytes on_output gave, per step and stream */
	size_t sent[JAIL_MAX_STEPS][2];    /* of those, made into lines */
	struct st_run ring[ST_RING];
	size_t rhead, rcount;
	bool unordered;                    /* the ring overflowed: order by step, stream */
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

/* ---- what waits: offsets into the jail's buffers ---- */

static void st_note(struct st *s, size_t step, int stream, size_t len)
{
	struct st_run *last = s->rcount ? &s->ring[(s->rhead + s->rcount - 1) % ST_RING] : NULL;

	s->given[step][stream - 1] += len;
	if (s->unordered)
		return;                        /* until what overflowed is out */
	if (last && last->step == step && last->stream == stream) {
		last->len += len;
		return;
	}
	if (s->rcount == ST_RING) {
		s->unordered = true;
		return;
	}
	s->ring[(s->rhead + s->rcount++) % ST_RING] =
		(struct st_run){ .step = (unsigned char)step, .stream = (unsigned char)stream, .len = len };
}

/* The next stretch to send: the ring's first run, else (after an
 * overflow) the first stream with bytes left. false: nothing waits. */
static bool st_pick(struct st *s, size_t *step, int *stream, size_t *len)
{
	if (s->rcount) {
		struct st_run *h = &s->ring[s->rhead];
		*step = h->step;
		*stream = h->stream;
		*len = h->len < ST_LINE_MAX ? h->len : ST_LINE_MAX;
		if ((h->len -= *len) == 0) {
			s->rhead = (s->rhead + 1) % ST_RING;
			s->rcount--;
		}
		return true;
	}
	for (size_t i = 0; i < JAIL_MAX_STEPS; i++)
		for (int k = 0; k < 2; k++)
			if (s->given[i][k] > s->sent[i][k]) {
				size_t left = s->given[i][k] - s->sent[i][k];
				*step = i;
				*stream = k + 1;
				*len = left < ST_LINE_MAX ? left : ST_LINE_MAX;
				return true;
			}
	s->unordered = false;              /* all out: order can be kept again */
	return false;
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

/* Makes the next waiting stretch into s->line; false when none waits. */
static bool st_next_line(struct st *s)
{
	size_t step, len;
	int stream;

	s->line.len = s->line_off = 0;
	if (!st_pick(s, &step, &stream, &len))
		return false;
	if (step != s->carry_step) {
		if (st_end_carries(s) < 0)
			s->oom = true;
		s->carry_step = step;
	}
	const struct jail_buf *b = stream == 1 ? &s->res->steps[step].out : &s->res->steps[step].err;
	size_t *sent = &s->sent[step][stream - 1];
	if (resp_nd_output(&s->line, &s->carry[stream - 1], st_step_name(s, step), stream,
	                   b->data + *sent, len, false) < 0)
		s->oom = true;
	*sent += len;
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

/* jail_spec.on_output: bytes within the cap, as read; they are in the
 * result's buffer already (jail.h), where st_next_line takes them. */
static void st_on_output(void *arg, size_t step, int stream, const char *data, size_t len)
{
	struct st *s = arg;

	(void)data;
	if (s->dead || s->oom || (stream != 1 && stream != 2) || step >= JAIL_MAX_STEPS || len == 0)
		return;
	st_note(s, step, stream, len);
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
static void st_finish(struct st *s, int rc, struct jail_result *res, const struct resp_opts *o,
                      json_t *error)
{
	struct resp_opts ro = *o;

	if (rc == 0) {
		/* Failed: the output is not to be trusted, nor its buffers. */
		st_pump(s, true, 0);
		s->line.len = s->line_off = 0;
		if (st_end_carries(s) < 0)
			s->oom = true;
		st_send_line(s);
	}
	s->line.len = 0;
	if (rc < 0) {
		if (!error)
			error = resp_sandbox_failure(&res->error, false);
		if (resp_nd_error(&s->line, error, s->r->request_id) == 0)
			st_send_line(s);
		error = NULL;                  /* stolen */
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
	json_decref(error);
	if (!s->dead)
		FCGX_FFlush(s->r->fx->out);
}

int stream_run(struct http_req *r, struct jail *j, struct jail_spec *spec,
               struct jail_result *res, const struct resp_opts *o,
               stream_after_fn after, void *after_arg)
{
	struct st s = { .r = r, .spec = spec, .res = res, .named_steps = o->has_compile };
	struct resp_opts ro = *o;
	json_t *error = NULL;
	int rc;

	st_head(&s);
	spec->on_output = st_on_output;
	spec->output_arg = &s;
	rc = jail_run(j, spec, res);
	spec->on_output = NULL;
	spec->output_arg = NULL;
	if (after)
		error = after(after_arg, rc, res, &ro);
	st_finish(&s, rc, res, &ro, error);
	resp_nd_buf_free(&s.line);
	return rc;
}

/*
 * resp_stream.c - the lines of a streamed run (resp_stream.h).
 *
 * Each read of a pipe becomes one line, so a line is never more than a
 * read (64 KiB) of output: escaped at most 6 times that, or 4/3 of it in
 * base64. Text lines must be valid UTF-8 (JSON strings are Unicode), but
 * a read may end in the middle of a character: those last bytes wait for
 * the next read instead of being damaged. Bytes that are not UTF-8 are not
 * replaced (as the whole answer replaces them with U+FFFD) but sent as
 * they are in base64, so a client can rebuild the output byte for byte.
 */
#include "api/resp_stream.h"

#include <stdlib.h>
#include <string.h>

#include "api/resp_private.h"
#include "common/b64.h"
#include "common/utf8.h"

void resp_nd_buf_free(struct resp_nd_buf *b)
{
	free(b->p);
	*b = (struct resp_nd_buf){ .p = NULL };
}

static int nd_reserve(struct resp_nd_buf *b, size_t more)
{
	size_t na;
	char *np;

	if (b->alloc - b->len >= more)
		return 0;
	if (more > SIZE_MAX / 2 - b->len)
		return -1;
	na = b->alloc ? b->alloc : 256;
	while (na - b->len < more)
		na *= 2;
	if (!(np = realloc(b->p, na)))
		return -1;
	b->p = np;
	b->alloc = na;
	return 0;
}

/* Only after nd_reserve: cannot fail. */
static void nd_put(struct resp_nd_buf *b, const char *s, size_t n)
{
	memcpy(b->p + b->len, s, n);
	b->len += n;
}

static void nd_puts(struct resp_nd_buf *b, const char *s)
{
	nd_put(b, s, strlen(s));
}

/* Valid UTF-8 as the inside of a JSON string, escaped as jansson does. */
static void nd_text(struct resp_nd_buf *b, const unsigned char *u, size_t n)
{
	char tmp[8];

	for (size_t i = 0; i < n; i++) {
		const char *e = resp_json_escape(u[i], tmp);
		if (e)
			nd_puts(b, e);
		else
			b->p[b->len++] = (char)u[i];
	}
}

/* How many bytes of u (n) go into this line, the rest being the start of
 * a character the next bytes may complete (never when end); *valid: the
 * line's bytes are all UTF-8. */
static size_t nd_split(const unsigned char *u, size_t n, bool end, bool *valid)
{
	size_t i = 0;

	*valid = true;
	while (i < n) {
		size_t k = utf8_seq(u + i, n - i);
		if (k) {
			i += k;
		} else if (!end && utf8_incomplete(u + i, n - i)) {
			return i;        /* at most 3 bytes, at the very end */
		} else {
			*valid = false;
			i++;
		}
	}
	return n;
}

static int nd_line(struct resp_nd_buf *out, const char *step, int stream,
                   const unsigned char *u, size_t n, bool valid)
{
	char *b64 = NULL;
	size_t blen = 0, room;

	if (!valid && !(b64 = b64_encode(u, n, &blen)))
		return -1;
	/* Fixed part, step name, and the data at its longest (\u00XX: 6). */
	room = 64 + (step ? strlen(step) + 12 : 0) + (valid ? 6 * n : blen);
	if (nd_reserve(out, room) < 0) {
		free(b64);
		return -1;
	}
	nd_puts(out, stream == 2 ? "{\"type\":\"stderr\"" : "{\"type\":\"stdout\"");
	if (step) {
		/* A step name is ours ("compile", "run"): nothing to escape. */
		nd_puts(out, ",\"step\":\"");
		nd_puts(out, step);
		nd_puts(out, "\"");
	}
	nd_puts(out, valid ? ",\"data\":\"" : ",\"encoding\":\"base64\",\"data\":\"");
	if (valid)
		nd_text(out, u, n);
	else
		nd_put(out, b64, blen);
	nd_puts(out, "\"}\n");
	free(b64);
	return 0;
}

int resp_nd_output(struct resp_nd_buf *out, struct resp_nd_carry *c, const char *step,
                   int stream, const char *data, size_t len, bool end)
{
	const unsigned char *u = (const unsigned char *)(data ? data : "");
	unsigned char *joined = NULL;
	size_t n = data ? len : 0, take;
	bool valid;
	int rc = 0;

	if (c->n) {
		/* The held bytes come first: a copy, but only after a read
		 * that ended mid-character. */
		if (!(joined = malloc(c->n + n + 1)))
			return -1;
		memcpy(joined, c->b, c->n);
		if (n)
			memcpy(joined + c->n, u, n);
		u = joined;
		n += c->n;
	}
	take = nd_split(u, n, end, &valid);
	if (take && nd_line(out, step, stream, u, take, valid) < 0) {
		rc = -1;
	} else {
		c->n = n - take;
		memcpy(c->b, u + take, c->n);
	}
	free(joined);
	return rc;
}

int resp_nd_start(struct resp_nd_buf *out, const char *request_id)
{
	json_t *o = json_pack("{s:s}", "type", "start");
	char *text;
	int rc = -1;

	if (o)
		resp_set_request_id(o, request_id ? request_id : "");
	text = o ? json_dumps(o, JSON_COMPACT) : NULL;
	if (text && nd_reserve(out, strlen(text) + 1) == 0) {
		nd_puts(out, text);
		nd_puts(out, "\n");
		rc = 0;
	}
	free(text);
	json_decref(o);
	return rc;
}

struct nd_result {
	json_dump_callback_t write;
	void *ctx;
	bool opened;
};

/* The result object's bytes with its '{' replaced by the line's start. */
static int nd_result_put(const char *buf, size_t len, void *data)
{
	struct nd_result *k = data;
	static const char head[] = "{\"type\":\"result\",";

	if (!k->opened && len) {
		k->opened = true;
		if (k->write(head, sizeof head - 1, k->ctx) != 0)
			return -1;
		buf++;           /* the object's own '{' */
		len--;
	}
	return len ? k->write(buf, len, k->ctx) : 0;
}

int resp_nd_result(const struct jail_result *res, const struct resp_opts *o,
                   json_dump_callback_t write, void *ctx)
{
	struct nd_result k = { .write = write, .ctx = ctx, .opened = false };

	if (resp_result_write(res, o, nd_result_put, &k) < 0 || !k.opened)
		return -1;
	return write("\n", 1, ctx);
}

int resp_nd_error(struct resp_nd_buf *out, json_t *body, const char *request_id)
{
	json_t *o = json_pack("{s:s}", "type", "error");
	char *text = NULL;
	int rc = -1;

	if (o && body && json_object_update(o, body) == 0) {
		resp_set_request_id(o, request_id ? request_id : "");
		text = json_dumps(o, JSON_COMPACT);
	}
	if (text && nd_reserve(out, strlen(text) + 1) == 0) {
		nd_puts(out, text);
		nd_puts(out, "\n");
		rc = 0;
	}
	free(text);
	json_decref(o);
	json_decref(body);
	return rc;
}

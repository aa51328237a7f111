/*
 * resp_write.c - the run result written as JSON in chunks.
 *
 * Why: escaping makes program output grow up to six times (a control
 * character becomes "\u0001"), so 16 MiB of stdout and 16 MiB of stderr
 * made an answer of 192 MiB, and json_dumps() built it whole in memory next
 * to a cleaned copy of each stream (issue 8, finding 3). Here the answer
 * goes out through a fixed buffer instead: the tree holds only the small
 * fields, program output is made valid UTF-8 and escaped on the way out
 * of the jail's buffer, and files are base64-encoded a slice at a time.
 * The answer's size is unchanged (docs/API.md, "Size of the answer"); the
 * responder's memory for it is this buffer.
 *
 * The bytes are exactly those of json_dumps(JSON_COMPACT) of the tree
 * resp_result() builds (tests/unit/check_resp.c compares them): same key
 * order, same escapes (jansson's: \" \\ \b \f \n \r \t, other controls as
 * \u00XX in upper case, everything else as it is).
 */
#include <stdlib.h>
#include <string.h>

#include "api/resp.h"
#include "api/resp_private.h"
#include "common/b64.h"
#include "common/utf8.h"

#define OUT_BUF 16384
#define B64_SLICE ((size_t)3 * 4096)   /* whole base64 quanta: no padding mid-way */

struct out {
	json_dump_callback_t write;
	void *ctx;
	size_t n;
	int err;
	char buf[OUT_BUF];
};

static int out_flush(struct out *w)
{
	if (!w->err && w->n && w->write(w->buf, w->n, w->ctx) != 0)
		w->err = -1;
	w->n = 0;
	return w->err;
}

static int out_put(struct out *w, const char *p, size_t n)
{
	while (n && !w->err) {
		size_t k = OUT_BUF - w->n < n ? OUT_BUF - w->n : n;

		memcpy(w->buf + w->n, p, k);
		w->n += k;
		p += k;
		n -= k;
		if (w->n == OUT_BUF)
			out_flush(w);
	}
	return w->err;
}

/* json_dump_callback_t over struct out, for the small values. */
static int out_cb(const char *p, size_t n, void *data)
{
	return out_put(data, p, n);
}

const char *resp_json_escape(unsigned char c, char tmp[8])
{
	static const char hex[] = "0123456789ABCDEF";

	switch (c) {
	case '"': return "\\\"";
	case '\\': return "\\\\";
	case '\b': return "\\b";
	case '\f': return "\\f";
	case '\n': return "\\n";
	case '\r': return "\\r";
	case '\t': return "\\t";
	default:
		if (c >= 0x20)
			return NULL;
		memcpy(tmp, "\\u00", 4);
		tmp[4] = hex[c >> 4];
		tmp[5] = hex[c & 15];
		tmp[6] = '\0';
		return tmp;
	}
}

/* Walks s as utf8_clean() + jansson's escaping would: each run of
 * bytes that stand as they are goes to put whole, then one escape or one
 * U+FFFD. put may be NULL (only counting). Returns the encoded length. */
static size_t text_walk(const char *s, size_t len, struct out *w)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t total = 0, i = 0;
	char tmp[8];

	while (i < len) {
		size_t start = i, k = 0;
		const char *e = NULL;

		for (; i < len; i += k) {
			k = utf8_seq(u + i, len - i);
			if (k == 0 || (k == 1 && (e = resp_json_escape(u[i], tmp))))
				break;
		}
		total += i - start;
		if (w && i > start)
			out_put(w, s + start, i - start);
		if (i == len)
			break;
		if (k == 0)
			e = "\xef\xbf\xbd";   /* U+FFFD for an invalid byte */
		total += strlen(e);
		if (w)
			out_put(w, e, strlen(e));
		i++;
	}
	return total;
}

size_t resp_text_encoded_len(const char *s, size_t len)
{
	return text_walk(s ? s : "", s ? len : 0, NULL);
}

/* Base64 of a byte stream given in pieces: whole quanta are encoded a
 * slice at a time, the 0-2 bytes left over wait for the next piece. */
struct b64_stream { unsigned char carry[3]; size_t n; };

static void b64_put(struct out *w, const unsigned char *p, size_t n)
{
	size_t elen;
	char *enc = w->err ? NULL : b64_encode(p, n, &elen);

	if (!enc) {
		w->err = -1;
		return;
	}
	out_put(w, enc, elen);
	free(enc);
}

static void b64_feed(struct out *w, struct b64_stream *st, const unsigned char *p, size_t len)
{
	size_t whole;

	while (st->n && st->n < 3 && len) {
		st->carry[st->n++] = *p++;
		len--;
	}
	if (st->n == 3) {
		b64_put(w, st->carry, 3);
		st->n = 0;
	}
	whole = len / 3 * 3;
	for (size_t off = 0; off < whole && !w->err; off += B64_SLICE)
		b64_put(w, p + off, whole - off < B64_SLICE ? whole - off : B64_SLICE);
	memcpy(st->carry + st->n, p + whole, len - whole);
	st->n += len - whole;
}

static int big_write(struct out *w, const struct resp_big *b)
{
	/* As inline_json() joins them: a '\n' unless the output ends with one
	 * (an invalid last byte is never '\n'). */
	bool nl = b->suffix && b->len && b->data[b->len - 1] != '\n';
	struct b64_stream st = { .n = 0 };

	out_put(w, "\"", 1);
	if (!b->base64) {
		text_walk(b->data, b->len, w);
		if (nl)
			out_put(w, "\\n", 2);
		if (b->suffix)
			text_walk(b->suffix, strlen(b->suffix), w);
		return out_put(w, "\"", 1);
	}
	b64_feed(w, &st, (const unsigned char *)b->data, b->len);
	if (nl)
		b64_feed(w, &st, (const unsigned char *)"\n", 1);
	if (b->suffix)
		b64_feed(w, &st, (const unsigned char *)b->suffix, strlen(b->suffix));
	if (st.n)
		b64_put(w, st.carry, st.n);
	return out_put(w, "\"", 1);
}

static const struct resp_big *big_find(const struct resp_bigs *b, const json_t *v)
{
	for (size_t i = 0; b && i < b->n; i++)
		if (b->big[i].slot == v)
			return &b->big[i];
	return NULL;
}

static int tree_write(struct out *w, const json_t *v, const struct resp_bigs *b)
{
	const struct resp_big *big = big_find(b, v);
	const char *key;
	size_t klen, idx;
	json_t *c;
	bool first = true;

	if (big)
		return big_write(w, big);
	if (json_is_object(v)) {
		out_put(w, "{", 1);
		json_object_keylen_foreach((json_t *)v, key, klen, c) {
			out_put(w, first ? "\"" : ",\"", first ? 1 : 2);
			text_walk(key, klen, w);
			out_put(w, "\":", 2);
			tree_write(w, c, b);
			first = false;
		}
		return out_put(w, "}", 1);
	}
	if (json_is_array(v)) {
		out_put(w, "[", 1);
		json_array_foreach(v, idx, c) {
			if (idx)
				out_put(w, ",", 1);
			tree_write(w, c, b);
		}
		return out_put(w, "]", 1);
	}
	if (json_dump_callback(v, out_cb, w, JSON_COMPACT | JSON_ENCODE_ANY) != 0 && !w->err)
		w->err = -1;
	return w->err;
}

int resp_tree_write(const json_t *tree, const struct resp_bigs *b,
                    json_dump_callback_t write, void *ctx)
{
	struct out *w = malloc(sizeof *w);
	int rc;

	if (!w)
		return -1;
	w->write = write;
	w->ctx = ctx;
	w->n = 0;
	w->err = 0;
	tree_write(w, tree, b);
	rc = out_flush(w);
	free(w);
	return rc;
}

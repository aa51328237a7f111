/*
 * req_scan.c - a cheap pre-scan of JSON text, fed in chunks before jansson
 * sees them, that refuses text nested too deep or holding too many values.
 *
 * Why: jansson builds a tree node for every value, and a node costs far
 * more than its text: "{}," is 3 bytes of body but about 250 bytes of
 * objects and hash buckets, so a 24 MiB body of empty objects became a
 * 1.9 GB tree (issue 8, finding 2). Counting values in the text first
 * bounds the tree before it is built, at the cost of one pass over bytes
 * that are read anyway. The scan does not validate: text it lets through
 * may still be invalid JSON, which jansson then reports.
 *
 * Counted: every container, string (object keys included) and bare token
 * (number, true, false, null). Depth: the body's own object is level 1,
 * as for req_config.max_json_depth.
 */
#include <string.h>

#include "api/api_load.h"

enum { SC_OUTSIDE, SC_STRING, SC_ESCAPE, SC_BARE };

void req_scan_init(struct req_scan *s, size_t max_depth, size_t max_values)
{
	memset(s, 0, sizeof *s);
	s->max_depth = max_depth;
	s->max_values = max_values;
}

static bool sc_is_delim(unsigned char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == ',' || c == ':' ||
	       c == '[' || c == ']' || c == '{' || c == '}' || c == '"';
}

/* The member name of the body's top-level object whose value is being
 * scanned, so that a refusal can name the field. Only plain names are kept
 * (the API's own keys are [a-z_]); anything else leaves the field empty. */
static void sc_key_char(struct req_scan *s, unsigned char c)
{
	bool plain = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	             (c >= '0' && c <= '9') || c == '_';

	if (!plain || s->keylen + 1 >= sizeof s->key)
		s->key_bad = true;
	else
		s->key[s->keylen++] = (char)c;
}

static void sc_key_end(struct req_scan *s)
{
	s->key[s->keylen] = '\0';
	memcpy(s->field, s->key_bad ? "" : s->key, s->key_bad ? 1 : s->keylen + 1);
	s->capturing = false;
}

static enum req_scan_status sc_value(struct req_scan *s)
{
	if (++s->values > s->max_values)
		return s->status = REQ_SCAN_TOO_MANY;
	return REQ_SCAN_OK;
}

static enum req_scan_status sc_outside(struct req_scan *s, unsigned char c)
{
	switch (c) {
	case '{':
	case '[':
		if (++s->depth > s->max_depth)
			return s->status = REQ_SCAN_TOO_DEEP;
		if (s->depth == 1) {
			s->top_object = c == '{';
			s->key_next = s->top_object;
		}
		return sc_value(s);
	case '}':
	case ']':
		if (s->depth > 0)
			s->depth--;
		return REQ_SCAN_OK;
	case ',':
		s->key_next = s->depth == 1 && s->top_object;
		return REQ_SCAN_OK;
	case '"':
		s->state = SC_STRING;
		if (s->key_next) {
			s->key_next = false;
			s->capturing = true;
			s->key_bad = false;
			s->keylen = 0;
		}
		return sc_value(s);
	case ' ': case '\t': case '\n': case '\r': case ':':
		return REQ_SCAN_OK;
	default:
		s->state = SC_BARE;
		return sc_value(s);
	}
}

enum req_scan_status req_scan_feed(struct req_scan *s, const char *buf, size_t len)
{
	const unsigned char *p = (const unsigned char *)buf;

	for (size_t i = 0; i < len && s->status == REQ_SCAN_OK; i++) {
		unsigned char c = p[i];

		switch (s->state) {
		case SC_STRING:
			if (c == '"') {
				s->state = SC_OUTSIDE;
				if (s->capturing)
					sc_key_end(s);
			} else if (c == '\\') {
				s->state = SC_ESCAPE;
				s->key_bad |= s->capturing;
			} else if (s->capturing) {
				sc_key_char(s, c);
			}
			break;
		case SC_ESCAPE:
			s->state = SC_STRING;
			break;
		case SC_BARE:
			if (!sc_is_delim(c))
				break;
			s->state = SC_OUTSIDE;
			/* The delimiter itself is structure. */
			__attribute__((fallthrough));
		case SC_OUTSIDE:
		default:
			sc_outside(s, c);
			break;
		}
	}
	return s->status;
}

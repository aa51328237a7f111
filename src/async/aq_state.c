/*
 * aq_state.c - the pure part of src/async: ids, queue keys, the state file
 * and its times. No system calls but getrandom and clock-free formatting,
 * so that tests/unit/check_async covers it directly.
 */
#include "async/async.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

static const char *const status_names[] = { "queued", "running", "done", "cancelled", "failed" };

const char *aq_status_name(enum aq_status s)
{
	return (unsigned)s < sizeof status_names / sizeof status_names[0] ? status_names[s] : "failed";
}

int aq_status_parse(const char *s, enum aq_status *out)
{
	for (unsigned i = 0; i < sizeof status_names / sizeof status_names[0]; i++)
		if (strcmp(s, status_names[i]) == 0) {
			*out = (enum aq_status)i;
			return 0;
		}
	return -1;
}

bool aq_status_final(enum aq_status s)
{
	return s == AQ_DONE || s == AQ_CANCELLED || s == AQ_FAILED;
}

/* No '.': an id is a directory name, so "." and ".." and the store's own
 * hidden names (.new-, .del-) can never be one; nor can its subdirectories. */
bool aq_id_valid(const char *s)
{
	size_t n = 0;

	if (!s)
		return false;
	for (; s[n]; n++) {
		char c = s[n];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '_' || c == '-'))
			return false;
		if (n >= AQ_ID_MAX)
			return false;
	}
	/* The store's own directories beside the runs (async.h). */
	return n > 0 && strcmp(s, "queue") != 0 && strcmp(s, "running") != 0 &&
	       strcmp(s, "slots") != 0;
}

int aq_id_new(char out[33])
{
	unsigned char b[16];
	size_t got = 0;

	while (got < sizeof b) {
		ssize_t n = getrandom(b + got, sizeof b - got, 0);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		got += (size_t)n;
	}
	for (size_t i = 0; i < sizeof b; i++)
		snprintf(out + 2 * i, 3, "%02x", b[i]);
	return 0;
}

int aq_key_make(uint64_t created_ns, const char *id, char *out, size_t len)
{
	int n;

	if (!aq_id_valid(id))
		return -1;
	n = snprintf(out, len, "%020" PRIu64 "-%s", created_ns, id);
	return n < 0 || (size_t)n >= len ? -1 : 0;
}

const char *aq_key_id(const char *key)
{
	if (!key || strlen(key) < 22)
		return NULL;
	for (int i = 0; i < 20; i++)
		if (key[i] < '0' || key[i] > '9')
			return NULL;
	if (key[20] != '-' || !aq_id_valid(key + 21))
		return NULL;
	return key + 21;
}

char *aq_state_dump(const struct aq_state *st)
{
	json_t *o = json_pack("{s:i, s:s, s:s, s:s, s:I, s:I, s:I, s:s, s:s}", "version", 1,
	                      "id", st->id, "key", st->key, "status", aq_status_name(st->status),
	                      "created_ms", (json_int_t)st->created_ms,
	                      "started_ms", (json_int_t)st->started_ms,
	                      "finished_ms", (json_int_t)st->finished_ms,
	                      "callback_url", st->callback_url, "request_id", st->request_id);
	char *s;

	if (o && st->error_code[0] &&
	    json_object_set_new(o, "error", json_pack("{s:s, s:s, s:s, s:i}", "code", st->error_code,
	                                              "message", st->error_msg, "field",
	                                              st->error_field, "http_status",
	                                              st->error_http)) != 0) {
		json_decref(o);
		return NULL;
	}
	s = o ? json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
	json_decref(o);
	return s;
}

static int copy_str(char *dst, size_t len, const char *src)
{
	size_t n = strlen(src);

	if (n >= len)
		return -1;
	memcpy(dst, src, n + 1);
	return 0;
}

int aq_state_parse(const char *buf, size_t len, struct aq_state *out)
{
	const char *id, *key, *status, *url, *rid, *ec = "", *em = "", *ef = "";
	json_int_t c, s, f, v;
	int eh = 0;
	json_t *err = NULL;
	json_t *o = json_loadb(buf, len, JSON_REJECT_DUPLICATES, NULL);
	struct aq_state st;
	int rc = -1;

	memset(&st, 0, sizeof st);
	if (!o || json_unpack(o, "{s:I, s:s, s:s, s:s, s:I, s:I, s:I, s:s, s:s, s?o}", "version",
	                      &v, "id", &id, "key", &key, "status", &status, "created_ms", &c,
	                      "started_ms", &s, "finished_ms", &f, "callback_url", &url,
	                      "request_id", &rid, "error", &err) != 0)
		goto out;
	if (err && json_unpack(err, "{s:s, s:s, s:s, s:i}", "code", &ec, "message", &em, "field",
	                       &ef, "http_status", &eh) != 0)
		goto out;
	if (v != 1 || !aq_id_valid(id) || !aq_key_id(key) || strcmp(aq_key_id(key), id) != 0 ||
	    aq_status_parse(status, &st.status) != 0 || c < 0 || s < 0 || f < 0 ||
	    copy_str(st.id, sizeof st.id, id) || copy_str(st.key, sizeof st.key, key) ||
	    copy_str(st.callback_url, sizeof st.callback_url, url) ||
	    copy_str(st.request_id, sizeof st.request_id, rid) ||
	    copy_str(st.error_code, sizeof st.error_code, ec) ||
	    copy_str(st.error_msg, sizeof st.error_msg, em) ||
	    copy_str(st.error_field, sizeof st.error_field, ef))
		goto out;
	st.created_ms = c;
	st.started_ms = s;
	st.finished_ms = f;
	st.error_http = eh;
	*out = st;
	rc = 0;
out:
	json_decref(o);
	return rc;
}

void aq_time_fmt(int64_t ms, char *buf, size_t len)
{
	time_t t = (time_t)(ms / 1000);
	struct tm tm;
	char base[32];

	if (!gmtime_r(&t, &tm) || strftime(base, sizeof base, "%Y-%m-%dT%H:%M:%S", &tm) == 0)
		snprintf(base, sizeof base, "1970-01-01T00:00:00");
	snprintf(buf, len, "%s.%03dZ", base, (int)(ms % 1000));
}

static int key_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

void aq_keys_sort(char **keys, size_t n)
{
	if (n > 1)
		qsort(keys, n, sizeof *keys, key_cmp);
}

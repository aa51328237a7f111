/*
 * log.c - one JSON object per line on stderr. spawn-fcgi -n / systemd hand
 * stderr to a file or the journal; a line is written with one write(2) so that
 * lines of N responders sharing the file do not interleave.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "fcgi/log.h"

static void log_timestamp(char *buf, size_t len)
{
	struct timespec ts;
	struct tm tm;
	char base[32];

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	strftime(base, sizeof base, "%Y-%m-%dT%H:%M:%S", &tm);
	if (snprintf(buf, len, "%s.%03ldZ", base, ts.tv_nsec / 1000000) >= (int)len)
		buf[0] = '\0';
}

void log_event(const char *level, const char *event, json_t *fields)
{
	json_t *o = json_object();
	char ts[48];
	char *line;
	size_t n;

	if (!o) {
		json_decref(fields);
		return;
	}
	log_timestamp(ts, sizeof ts);
	json_object_set_new(o, "ts", json_string(ts));
	json_object_set_new(o, "level", json_string(level));
	json_object_set_new(o, "event", json_string(event));
	json_object_set_new(o, "pid", json_integer(getpid()));
	if (fields)
		json_object_update(o, fields);
	json_decref(fields);
	line = json_dumps(o, JSON_COMPACT | JSON_ENSURE_ASCII);
	json_decref(o);
	if (!line)
		return;
	n = strlen(line);
	line[n] = '\n';  /* json_dumps leaves room only for NUL: rewrite it */
	if (write(STDERR_FILENO, line, n + 1) < 0) {
		/* nothing sensible to do: logging must never fail a request */
	}
	free(line);
}

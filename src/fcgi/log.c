/*
 * log.c - one JSON object per line on stderr. spawn-fcgi -n / systemd hand
 * stderr to a file or the journal; a line is written with one write(2) so that
 * lines of N responders sharing the file do not interleave. Under systemd
 * each line starts with journald's priority prefix ("<3>{...}", log_fmt.c).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fcgi/log.h"
#include "fcgi/log_fmt.h"

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

/* Decided once: stderr does not change while the responder runs. */
static bool log_to_journal(void)
{
	static int journal = -1;
	struct stat st;

	if (journal < 0)
		journal = fstat(STDERR_FILENO, &st) == 0 &&
		          log_fmt_is_journal(getenv("JOURNAL_STREAM"), (unsigned long long)st.st_dev,
		                             (unsigned long long)st.st_ino);
	return journal;
}

void log_event(const char *level, const char *event, json_t *fields)
{
	json_t *o = json_object();
	char ts[48];
	const char *pfx;
	char *line, *out;
	size_t n, pl;

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
	pfx = log_to_journal() ? log_fmt_prefix(level) : "";
	n = strlen(line);
	pl = strlen(pfx);
	out = malloc(pl + n + 1);
	if (out) {
		memcpy(out, pfx, pl);
		memcpy(out + pl, line, n);
		out[pl + n] = '\n';
		if (write(STDERR_FILENO, out, pl + n + 1) < 0) {
			/* nothing sensible to do: logging must never fail a request */
		}
	}
	free(out);
	free(line);
}

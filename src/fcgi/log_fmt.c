/*
 * log_fmt.c - journald priority prefixes for the JSON log lines. Under
 * systemd, stderr is a stream to journald, which reads a leading "<N>" on
 * each line as the syslog priority (sd-daemon(3)) and strips it; without it
 * every line, errors included, is logged at the unit's default (info).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "fcgi/log_fmt.h"

const char *log_fmt_prefix(const char *level)
{
	static const struct { const char *level, *prefix; } map[] = {
		{ "error", "<3>" }, { "warning", "<4>" }, { "notice", "<5>" },
		{ "info", "<6>" }, { "debug", "<7>" },
	};

	for (size_t i = 0; level && i < sizeof map / sizeof map[0]; i++)
		if (strcmp(map[i].level, level) == 0)
			return map[i].prefix;
	return "<5>";
}

/* A decimal number ending at *end == stop; strtoull alone takes "-1", " 1". */
static bool parse_dec(const char *s, char stop, const char **end, unsigned long long *v)
{
	char *e;

	if (*s < '0' || *s > '9')
		return false;
	errno = 0;
	*v = strtoull(s, &e, 10);
	if (errno != 0 || *e != stop)
		return false;
	*end = e;
	return true;
}

bool log_fmt_is_journal(const char *journal_stream, unsigned long long dev,
                        unsigned long long ino)
{
	unsigned long long d, i;
	const char *p;

	if (!journal_stream || !parse_dec(journal_stream, ':', &p, &d) ||
	    !parse_dec(p + 1, '\0', &p, &i))
		return false;
	return d == dev && i == ino;
}

/*
 * log_fmt.h - the pure parts of the log line format (log.c): journald's
 * priority prefix. No I/O, unit-tested in tests/unit/check_log.c.
 */
#ifndef SANDBOX_FCGI_LOG_FMT_H
#define SANDBOX_FCGI_LOG_FMT_H

#include <stdbool.h>

/* The sd-daemon(3) prefix of a level: "<3>" error, "<4>" warning,
 * "<5>" notice, "<6>" info, "<7>" debug; an unknown level is "<5>"
 * (notice: never lost, never alarming). */
const char *log_fmt_prefix(const char *level);

/* Whether stderr is the journal's stream: JOURNAL_STREAM ("DEV:INO" in
 * decimal, systemd.exec(5)) names the device and inode of stderr. A
 * stderr redirected elsewhere under systemd keeps the variable but not the
 * inode, and must not get prefixes. */
bool log_fmt_is_journal(const char *journal_stream, unsigned long long dev,
                        unsigned long long ino);

#endif

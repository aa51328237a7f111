/*
 * log.h - structured JSON log lines on stderr, one object per line.
 * Callers pass only metadata (sizes, counts, ids): never code, stdin, env
 * values or credentials.
 */
#ifndef SANDBOX_FCGI_LOG_H
#define SANDBOX_FCGI_LOG_H

#include <jansson.h>

/* Adds ts, level, event and pid to fields (stolen; may be NULL) and writes it. */
void log_event(const char *level, const char *event, json_t *fields);

#endif

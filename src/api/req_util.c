/*
 * req_util.c - filling the request error (a 4xx naming the field).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/req_private.h"
#include "common/utf8.h"

int req_fail(struct req_error *err, int http_status, const char *code,
             const char *field, const char *fmt, ...)
{
	va_list ap;

	err->http_status = http_status;
	snprintf(err->code, sizeof err->code, "%s", code);
	snprintf(err->field, sizeof err->field, "%s", field ? field : "");
	va_start(ap, fmt);
	/* Truncation of a long message is acceptable: it stays a valid string. */
	vsnprintf(err->message, sizeof err->message, fmt, ap);
	va_end(ap);
	utf8_fix(err->field, sizeof err->field);
	utf8_fix(err->message, sizeof err->message);
	return -1;
}

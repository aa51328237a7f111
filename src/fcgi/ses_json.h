/*
 * ses_json.h - what the session endpoints share: the Session object of the
 * API, the checks of the {id} and {path} parts, and the one answer and
 * log event of every session operation.
 */
#ifndef SANDBOX_FCGI_SES_JSON_H
#define SANDBOX_FCGI_SES_JSON_H

#include "fcgi/svc.h"

/* The Session object (docs/openapi.json, Session): meta plus the bytes
 * the workspace charges (null when it cannot be measured). */
json_t *ses_json_meta(struct ses_store *st, const struct ses_meta *m);

/* One session operation being answered. */
struct ses_op {
	struct svc *s;
	struct http_req *r;
	const char *op;              /* "create", "upload", ... (log and metrics) */
	char id[SES_ID_LEN + 1];     /* "" until known */
};

/* The {id} of rt into op->id: 0, or answers 400 invalid_session_id and -1. */
int ses_op_id(struct ses_op *op, const struct route *rt);
/* The ses_error as the answer (409 session_busy gets Retry-After: 1). */
void ses_op_fail(struct ses_op *op, const struct ses_error *e);
/* A 4xx of the HTTP layer itself. */
void ses_op_refuse(struct ses_op *op, int status, const char *code, const char *msg,
                   const char *field);
/* The success log event and metric (the answer is sent by the caller);
 * fields (stolen, may be NULL) are added to the event. */
void ses_op_done(struct ses_op *op, int status, json_t *fields);

/* Seconds since the epoch rounded up, for the times a session starts its
 * clocks from (creation, last use): the store counts whole seconds, and
 * rounding those down would expire a session up to a second early (a touch
 * at 10.99 s recorded as 10); rounded up it may live up to a second longer,
 * never shorter. Checks use time(NULL), rounded down. */
int64_t ses_now_ceil(void);

/* How long DELETE waits for a run of the session to let go of its lock:
 * the longest run (compile + run wall time) plus 10 s. A run notices the
 * delete within ~100 ms, so the bound only matters if that fails. */
unsigned svc_delete_wait_ms(const struct svc *s);

#endif

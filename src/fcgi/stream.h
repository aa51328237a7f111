/*
 * stream.h - a run whose output goes to the client as it comes
 * (docs/API.md, "Live output"): a 200 with application/x-ndjson lines
 * (src/api/resp_stream.h) written while the program runs. For POST /run
 * (run.c) and any other endpoint that runs a job (a session's run).
 */
#ifndef SANDBOX_FCGI_STREAM_H
#define SANDBOX_FCGI_STREAM_H

#include "api/resp.h"
#include "fcgi/http.h"
#include "jail/jail.h"

/* Called once jail_run() has returned rc, so after the job's work hooks
 * (a session's copy-back), and before the last line is made: it may add
 * to o (a session run's "session" object, known only after the copy-back)
 * and, when rc < 0, return the error answer for the error line (an
 * http_send_error-shaped {"error": ...} object, stolen; NULL: the
 * sandbox_failure of res->error). */
typedef json_t *(*stream_after_fn)(void *arg, int rc, struct jail_result *res,
                                   struct resp_opts *o);

/* Sends the 200's head and the start line, runs spec in j with its output
 * streamed (spec->on_output is set for the run and cleared after), calls
 * after (may be NULL) with a copy of o, then the result line
 * (resp_result_write with that copy, output_streamed) or, when jail_run()
 * failed, an error line (after's answer, or sandbox_failure). The request
 * must have been validated: nothing but a 200 can follow. The caller keeps
 * spec's cancel fd (a client that leaves stops the job) and logs.
 * Returns jail_run()'s value: 0 (res holds the result, sent unless the
 * client left) or -1 (res->error). */
int stream_run(struct http_req *r, struct jail *j, struct jail_spec *spec,
               struct jail_result *res, const struct resp_opts *o,
               stream_after_fn after, void *after_arg);

#endif

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

/* Sends the 200's head and the start line, runs spec in j with its output
 * streamed (spec->on_output is set for the run and cleared after), then
 * the result line (resp_result_write with o, output_streamed) or, when
 * jail_run() failed, an error line (sandbox_failure). The request must
 * have been validated: nothing but a 200 can follow. The caller keeps
 * spec's cancel fd (a client that leaves stops the job) and logs.
 * Returns jail_run()'s value: 0 (res holds the result, sent unless the
 * client left) or -1 (res->error). */
int stream_run(struct http_req *r, struct jail *j, struct jail_spec *spec,
               struct jail_result *res, const struct resp_opts *o);

#endif

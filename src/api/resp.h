/*
 * resp.h - the JSON answers: the run result (shared by the HTTP API and
 * sandbox-run) and the error object {"error": {"code","message","field"}}.
 */
#ifndef SANDBOX_API_RESP_H
#define SANDBOX_API_RESP_H

#include <stdbool.h>
#include <jansson.h>

#include "jail/jail.h"

struct resp_opts {
	const char *request_id;          /* NULL: omitted (resp_set_request_id) */
	bool has_compile;                /* steps[0] is a compile step */
	bool handler_mode;               /* decode res->result as the handler's answer */
	const char *job_id;              /* the client's id: "job_id" after request_id; NULL/"": none */
	/* NULL: program output as UTF-8 text, no "output_encoding" in the
	 * answer; "utf8" the same, echoed; "base64": stdout and stderr (run and
	 * compile steps) as base64 of their exact bytes, echoed. */
	const char *output_encoding;
	/* Optional: receives the answer's "status" (a static string), so that
	 * the log says what the answer said (resp_status decides it). */
	const char **status_out;
	/* The program's output went out already as the lines of a streamed
	 * run (resp_stream.h): "stdout" and "stderr" (also the compile
	 * step's) hold only what the service adds after it, the exec error's
	 * or the handler's text, with the '\n' that joins it (docs/API.md,
	 * "Live output"). */
	bool output_streamed;
	/* Optional: a session run's "session" object, added as is (borrowed). */
	json_t *session;
	/* "warm": whether a warm interpreter served the run (res->warm). */
	bool report_warm;
};

/* The run's "status" as the answer gives it: success, error, timeout,
 * memory_limit, killed, compile_error.  The one place it is decided: a
 * failed compile step is compile_error whatever came after; a handler
 * whose result could not be used (it raised, or returned nothing) is
 * error even though its shim exited 0. */
const char *resp_status(const struct jail_result *res, const struct resp_opts *o,
                        bool handler_failed);

/* Builds the result object (status, exit_code, signal, stdout, stderr, ...,
 * files, compile, result). Output that is not valid UTF-8 has each invalid
 * byte replaced by U+FFFD (documented in docs/API.md). Never NULL except on OOM. */
json_t *resp_result(const struct jail_result *res, const struct resp_opts *o);
/* The same object written compactly through write (a json_dump_callback_t:
 * returns 0, or -1 to stop) in chunks, never whole in memory: program
 * output and output files go from the jail's buffers straight to write.
 * Byte for byte what json_dumps(resp_result(), JSON_COMPACT) gives.
 * Returns 0, or -1 if a write failed or memory ran out. */
int resp_result_write(const struct jail_result *res, const struct resp_opts *o,
                      json_dump_callback_t write, void *ctx);
/* Bytes that s (len bytes of program output) takes inside the quotes of a
 * JSON string of the answer: at most 6 * len (a control character becomes
 * \u00XX; an invalid byte, U+FFFD, takes 3). */
size_t resp_text_encoded_len(const char *s, size_t len);
/* The one place an answer gets its "request_id" (a result, where
 * resp_opts.request_id puts it first, or any other answer of the responder,
 * where http_send_json puts it last). */
void resp_set_request_id(json_t *answer, const char *id);
/* {"error": {"code", "message", "field"?}} */
json_t *resp_error(const char *code, const char *message, const char *field);
/* The answer when jail_run() or jail_new() failed (HTTP 500, sandbox-run
 * exit 1): {"error": {"code": "sandbox_failure", "message", "step",
 * "errno"}}. detail false (the API): a fixed message, since e->detail may
 * name host paths (the responder's log has it); true (sandbox-run, for the
 * operator of this host): the message names step, errno text and detail. */
json_t *resp_sandbox_failure(const struct jail_error *e, bool detail);
/* The "isolation" object of /info and `sandbox-run --info`: what jail_new()
 * set up (resp_isolation.c); resp_degraded: the per-process-only limits. */
json_t *resp_isolation(const struct jail_info *ji);
json_t *resp_degraded(const struct jail_info *ji);

#endif

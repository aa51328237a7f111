/*
 * resp_stream.h - the lines of a streamed run (docs/API.md, "Live output"):
 * application/x-ndjson, one JSON object and a '\n' per line. Pure code
 * (resp_stream.c); the FastCGI side that sends them is src/fcgi/stream.c.
 *
 *   {"type":"start","request_id":"..."}
 *   {"type":"stdout","data":"text"}                   valid UTF-8 bytes
 *   {"type":"stderr","encoding":"base64","data":"..."} any other bytes
 *   {"type":"stdout","step":"compile","data":"..."}   compiled runtimes
 *   {"type":"result",...the result object...}          last line, or
 *   {"type":"error","error":{...},"request_id":"..."}  last line
 */
#ifndef SANDBOX_API_RESP_STREAM_H
#define SANDBOX_API_RESP_STREAM_H

#include <stdbool.h>
#include <stddef.h>
#include <jansson.h>

#include "api/resp.h"

/* Growable bytes the lines are appended to. */
struct resp_nd_buf {
	char *p;
	size_t len, alloc;
};
void resp_nd_buf_free(struct resp_nd_buf *b);

/* The end of a stream's last chunk that may be the beginning of a UTF-8
 * character the next chunk completes: held back (at most 3 bytes). */
struct resp_nd_carry {
	unsigned char b[4];
	size_t n;
};

/* Appends the line for len bytes of one stream (1 stdout, 2 stderr) to
 * out, the carry's bytes first, and keeps in the carry the end that may be
 * an incomplete character (none when end: the stream is over, so they are
 * sent as they are). The line is text when its bytes are valid UTF-8,
 * else base64 of exactly those bytes. step: NULL, or the step's name
 * ("compile", "run") to name it in the line. No line for no bytes.
 * Returns 0, or -1 out of memory (out and the carry are as they were). */
int resp_nd_output(struct resp_nd_buf *out, struct resp_nd_carry *c, const char *step,
                   int stream, const char *data, size_t len, bool end);
/* {"type":"start","request_id":ID}\n. Returns 0 or -1 (out of memory). */
int resp_nd_start(struct resp_nd_buf *out, const char *request_id);
/* Writes {"type":"result", then the members of resp_result_write's object
 * (give o->output_streamed), then "}\n", through write. Returns 0 or -1. */
int resp_nd_result(const struct jail_result *res, const struct resp_opts *o,
                   json_dump_callback_t write, void *ctx);
/* Appends {"type":"error", the members of body (an error answer, e.g.
 * resp_sandbox_failure(); stolen), "request_id"}\n. 0 or -1. */
int resp_nd_error(struct resp_nd_buf *out, json_t *body, const char *request_id);

#endif

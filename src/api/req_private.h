/*
 * req_private.h - shared by the files of the request parser (req_*.c), not
 * part of the contract with the responder and sandbox-run (api/req.h).
 */
#ifndef SANDBOX_API_REQ_PRIVATE_H
#define SANDBOX_API_REQ_PRIVATE_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <jansson.h>

#include "api/req.h"

/* Fills *err; always returns -1 so callers can `return req_fail(...)`. */
int req_fail(struct req_error *err, int http_status, const char *code,
             const char *field, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));

/* Parsing steps of req_parse_run, one per concern (req_*.c). Each returns 0
 * or -1 with *err filled. req_parse_env is public (api/req.h). */
int req_parse_files(json_t *files, const struct req_config *cfg,
                    struct req_job *job, struct req_error *err);
int req_parse_outputs(json_t *outputs, const struct req_config *cfg,
                      struct req_job *job, struct req_error *err);
int req_parse_limits(json_t *limits, const struct req_config *cfg,
                     struct req_job *job, struct req_error *err);
int req_parse_command(json_t *root, const struct req_config *cfg,
                      struct req_job *job, struct req_error *err);
/* The top-level aliases a request used (req_compat.c): from[i] is our
 * field, to[i] the name the client wrote. */
struct req_compat { const char *from[4], *to[4]; size_t n; };
/* Before the strict parse: refuses an alias given with its field (or two
 * aliases of one field), renames aliases to their fields in root, turns
 * timeout_s/timeout into limits.wall_time_ms, and takes job_id (or
 * execution_id) and output_encoding out of root into the job. */
int req_compat_normalize(json_t *root, const struct req_config *cfg, struct req_job *job,
                         struct req_compat *rn, struct req_error *err);
/* After a failed parse: an error naming a renamed field names the alias. */
void req_compat_error(const struct req_compat *rn, struct req_error *err);
/* The compile step's limits before the request's own: the runtime's
 * compile limits over cfg->compile_defaults (req_spec.c). */
struct jail_limits req_compile_base(const struct rt_runtime *rt, const struct req_config *cfg);

/* Checks that `path` neither equals nor is a directory prefix of an already
 * accepted path (and vice versa). Returns the index of the clash or -1. */
long req_path_clash(const struct req_job *job, const char *path);

/* Shared by the parsers of request bodies (req_parse.c, req_session.c):
 * the 400 of an unknown template listing the known ones, jansson's byte
 * budget for a body, and the 4xx of a body that did not load. */
int req_fail_template(const struct rt_registry *reg, const char *name, struct req_error *err);
size_t req_parse_budget(const struct req_config *cfg);
struct api_load;
int req_fail_load(const struct api_load *l, const struct req_config *cfg, const json_error_t *je,
                  struct req_error *err);

/* Default rootfs-side paths of the handler shim's input and output. */
#define REQ_EVENT_PATH ".sandbox/event.json"   /* under /tmp */
#define REQ_RESULT_PATH ".sandbox/result.json" /* under /tmp */

#endif

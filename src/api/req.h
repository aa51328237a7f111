/*
 * req.h - POST /api/sandbox/run: parse and validate the request body into a
 * job, then turn the job into a jail_spec. Pure code (no system calls beyond
 * malloc), covered by unit tests and the libFuzzer target.
 */
#ifndef SANDBOX_API_REQ_H
#define SANDBOX_API_REQ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <jansson.h>

#include "api/rt.h"
#include "jail/jail.h"

struct req_range { uint64_t min, def, max; };

/* Operator-configurable caps (config file / flags of sandbox-fcgi). */
struct req_config {
	size_t max_body_bytes;           /* also nginx client_max_body_size */
	size_t max_code_bytes;           /* 128 KiB */
	size_t max_files;                /* 32 */
	size_t max_file_bytes;           /* 2 MiB */
	size_t max_files_total_bytes;    /* 8 MiB */
	size_t max_path_depth;           /* 16 */
	size_t max_args, max_arg_bytes;
	size_t max_env, max_env_bytes;
	size_t max_stdin_bytes;
	size_t max_outputs;              /* glob patterns */
	size_t max_output_files;         /* 32 */
	uint64_t max_output_file_bytes;  /* 2 MiB */
	uint64_t max_output_total_bytes; /* 8 MiB */
	size_t max_event_bytes;
	struct req_range wall_time_ms, cpu_time_ms, memory_mb, max_processes, max_output_bytes;
	uint64_t max_file_size_bytes;    /* RLIMIT_FSIZE inside */
	uint64_t max_open_files;
	uint64_t work_mb, tmp_mb;        /* tmpfs sizes */
	const char *default_template;    /* "minimal" */
	size_t max_json_depth;           /* nesting of the whole body: 32 */
	size_t max_json_values;          /* values + object keys in the body: 100000 */
	size_t max_json_parse_bytes;     /* jansson's memory for the body; 0: 2 x max_body_bytes */
	uint64_t max_result_bytes;       /* handler result file read back: 1 MiB */
	struct jail_limits compile_defaults; /* compile step, under the runtime's own */
	/* Sessions (POST /api/sandbox/sessions): lifetime, idle timeout and
	 * disk quota, each from 1 to the operator's maximum. */
	struct req_range ses_ttl_s, ses_idle_timeout_s, ses_disk_mb;
};
void req_config_defaults(struct req_config *c);
/* The run step's limits of a request that gives none, for a runtime
 * without its own (what sandbox-run starts from, so that its defaults are
 * the API's): wall, cpu (= wall), memory, processes, output from the
 * ranges' defaults, file size and open files from their caps. */
void req_config_limits(const struct req_config *cfg, struct jail_limits *l);
/* The parts of a jail_spec that come from the configuration alone: /work
 * and /tmp sizes, the caps on returned output files. */
void req_config_spec(const struct req_config *cfg, struct jail_spec *spec);

struct req_error {
	int http_status;                 /* 400, 413, 415 */
	char code[48];                   /* "invalid_json", "invalid_field", "too_large", ... */
	char field[128];                 /* "limits.wall_time_ms", "files[3].path", "" */
	char message[512];
};

/* The client's own id of a job (job_id, or execution_id): at most this
 * many characters of [A-Za-z0-9._:-]. */
#define REQ_MAX_JOB_ID 128

struct req_file { char *path; unsigned char *data; size_t len; bool executable; };

struct req_job {
	const struct rt_template *tmpl;
	const struct rt_runtime *runtime;
	char *code; size_t code_len;
	struct req_file *files; size_t nfiles;
	char **argv;                     /* NULL-terminated: entrypoint words + args */
	char **envp;                     /* NULL-terminated NAME=VALUE, defaults added */
	char *stdin_data; size_t stdin_len;
	bool handler_mode;
	bool stream, stream_set;         /* "stream": live output; given at all */
	char *handler;                   /* "main.handler" */
	char *event_json;                /* serialized event */
	struct jail_limits limits;       /* run step */
	struct jail_limits compile_limits;
	char **outputs; size_t noutputs;
	char job_id[REQ_MAX_JOB_ID + 1]; /* "" when the client gave none */
	const char *output_encoding;     /* NULL (not asked: utf8), "utf8", "base64" */
	uint64_t compile_wall_ms;        /* limits.compile_*: 0 = the runtime's */
	uint64_t compile_memory_mb;
	/* Owned storage behind the jail_spec made by req_job_spec(). */
	struct jail_file *jfiles; size_t njfiles;
	struct jail_step steps[JAIL_MAX_STEPS];
	char **compile_argv;
};

/* Parses body (Content-Type already checked by the caller). Returns 0, or -1
 * with *err filled (never crashes on any input). */
int req_parse_run(const char *body, size_t len, const struct req_config *cfg,
                  const struct rt_registry *reg, struct req_job *job, struct req_error *err);
/* Reads up to len bytes of the body into buf: returns how many (> 0), 0 at
 * its end, or -1 when it cannot be read whole (the client left). */
typedef long (*req_read_fn)(void *ctx, char *buf, size_t len);
/* req_parse_run on a body read in chunks, never held whole: each chunk is
 * pre-scanned (max_json_depth, max_json_values) before jansson sees it,
 * and jansson's allocations stay under max_json_parse_bytes; either limit
 * gives a 4xx. A body longer than max_body_bytes is refused (413). */
int req_parse_run_stream(req_read_fn read, void *ctx, const struct req_config *cfg,
                         const struct rt_registry *reg, struct req_job *job,
                         struct req_error *err);
/* The two halves of req_parse_run_stream, for callers that look at the
 * tree before validating it (POST /runs takes "id" and "callback_url" out
 * of it first): the body loaded under the same bounds (NULL with *err
 * filled), and the validation of a loaded body (root is not stolen). */
json_t *req_load_body(req_read_fn read, void *ctx, const struct req_config *cfg,
                      struct req_error *err);
int req_parse_run_json(json_t *root, const struct req_config *cfg,
                       const struct rt_registry *reg, struct req_job *job, struct req_error *err);
/* A session run (POST /api/sandbox/sessions/{id}/run, docs/SESSIONS.md):
 * the body of a run, with three differences. The template is the session's
 * (a "template" given must name it); "runtime" may be left out when an
 * "entrypoint" is given (a plain command: no code, no compile step, the
 * operator's default limits; the runtime is then req_plain_runtime), and
 * neither code nor files is required (the workspace holds the files); the
 * session's defaults ({"limits": {...}, "env": {...}} as stored at its
 * creation, or NULL) fill in what the request leaves out, name by name. */
struct req_session_run {
	const char *tmpl;                /* the session's template */
	json_t *defaults;                /* borrowed */
};
extern const struct rt_runtime req_plain_runtime;
int req_parse_session_run_stream(req_read_fn read, void *ctx, const struct req_config *cfg,
                                 const struct rt_registry *reg,
                                 const struct req_session_run *sr, struct req_job *job,
                                 struct req_error *err);

/* Fills *spec from the job; the job keeps ownership of all memory. */
int req_job_spec(struct req_job *job, const struct req_config *cfg, struct jail_spec *spec);
void req_job_free(struct req_job *job);
/* Handler mode: the environment the shims read for their context argument
 * (rootfs/common/overlay/opt/sandbox/shims): SANDBOX_WALL_MS (the run's
 * wall limit) and SANDBOX_REQUEST_ID (request_id, when not NULL or ""),
 * replacing values the request's env gave. Nothing outside handler mode.
 * 0, or -1 when memory ran out. */
int req_job_context_env(struct req_job *job, const char *request_id);

/* POST /api/sandbox/sessions: template, ttl_s, idle_timeout_s, disk_mb
 * (each within its req_config range, absent: its default), and limits and
 * env checked as a run's and kept as given in defaults ({"limits": {...},
 * "env": {...}}, owned). Streamed under the caps of a run's body. */
struct req_session {
	const struct rt_template *tmpl;
	uint64_t ttl_s, idle_timeout_s, disk_mb;
	json_t *defaults;
};
int req_parse_session_stream(req_read_fn read, void *ctx, const struct req_config *cfg,
                             const struct rt_registry *reg, struct req_session *out,
                             struct req_error *err);
void req_session_free(struct req_session *s);

/* Validation helpers, exposed for unit tests. Return NULL if ok, else a
 * reason. (Paths: path_check(), common/path.h.) */
const char *req_check_env_name(const char *name);
/* The environment of a run (job->envp) as POST /run builds it: env (a JSON
 * object of strings, or NULL) checked against cfg, then the responder's
 * defaults (PATH, HOME, LANG, TMPDIR) for the names it lacks. Also what
 * sandbox-run --env uses, so the two cannot differ. 0, or -1 with *err. */
int req_parse_env(json_t *env, const struct req_config *cfg,
                  struct req_job *job, struct req_error *err);
/* Splits an entrypoint string into words (quotes and backslashes as in sh,
 * no expansion). Returns a NULL-terminated array or NULL with *why set. */
char **req_split_words(const char *s, const char **why);

#endif

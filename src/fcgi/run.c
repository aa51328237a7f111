/*
 * run.c - POST /api/sandbox/run: content type, body under a cap, parse and
 * validate (src/api), run in the jail, answer. The two kinds of failure stay
 * apart: jail_run() == -1 is a 500 sandbox_failure (no trustworthy program
 * result), anything the program did is a 200. A streamed run (stream.c)
 * answers 200 before it starts; a failure is then its last line.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/req.h"
#include "api/resp.h"
#include "fcgi/log.h"
#include "fcgi/stream.h"
#include "fcgi/svc.h"

/* Checks that come before reading the body. Returns 0 or answers and -1. */
int svc_json_body_refusal(const struct svc *s, const struct http_req *r,
                          struct svc_refusal *out)
{
	if (!http_is_json_type(r->content_type)) {
		*out = (struct svc_refusal){ 415, "unsupported_media_type",
		                             "Content-Type must be application/json" };
		return -1;
	}
	if (r->bad_length) {
		*out = (struct svc_refusal){ 400, "invalid_request", "invalid Content-Length" };
		return -1;
	}
	if (r->has_length && r->content_length > s->cfg.req.max_body_bytes) {
		*out = (struct svc_refusal){ 413, "too_large", "" };
		snprintf(out->msg, sizeof out->msg, "request body exceeds %zu bytes",
		         s->cfg.req.max_body_bytes);
		return -1;
	}
	return 0;
}

int svc_check_json_headers(const struct svc *s, struct http_req *r)
{
	struct svc_refusal no;

	if (svc_json_body_refusal(s, r, &no) == 0)
		return 0;
	http_send_error(r, no.status, no.code, no.msg, NULL, NULL);
	return -1;
}

static uint64_t sum_req_files(const struct req_job *job)
{
	uint64_t n = 0;

	for (size_t i = 0; i < job->nfiles; i++)
		n += job->files[i].len;
	return n;
}

void svc_run_resp_opts(const struct jail_spec *spec, const struct req_job *job,
                       const struct run_facts *f, const char **status_out, struct resp_opts *ro)
{
	memset(ro, 0, sizeof *ro);
	ro->has_compile = spec->nsteps > 1;
	ro->handler_mode = job->handler_mode;
	ro->status_out = status_out;
	ro->job_id = f->job_id;
	ro->output_encoding = f->output_encoding;
	ro->report_warm = true;   /* the service's answers say warm or cold */
}

void svc_run_facts(const struct req_job *job, struct run_facts *f)
{
	memset(f, 0, sizeof *f);
	memcpy(f->job_id, job->job_id, sizeof f->job_id);
	f->output_encoding = job->output_encoding;
	f->input_files = (json_int_t)job->nfiles;
	f->input_bytes = (json_int_t)sum_req_files(job);
}

static json_t *job_id_json(const struct run_facts *f)
{
	return f->job_id[0] ? json_string(f->job_id) : json_null();
}

/* Fields as the Rootless-Docker runner logged them (job_id, timeout_s,
 * code_bytes; docs/MIGRATING.md), "timeout" in ms as before. */
void svc_run_log_start(const struct http_req *r, const struct req_job *job,
                       const struct run_facts *f, const char *session_id)
{
	json_t *o = json_pack("{s:s, s:o, s:s, s:I, s:f, s:I, s:I, s:I, s:b}",
	                    "request_id", r->request_id,
	                    "job_id", job_id_json(f),
	                    "runtime", job->runtime ? job->runtime->name : "",
	                    "timeout", (json_int_t)job->limits.wall_time_ms,
	                    "timeout_s", (double)job->limits.wall_time_ms / 1000.0,
	                    "code_bytes", (json_int_t)job->code_len,
	                    "input_files", f->input_files,
	                    "input_bytes", f->input_bytes,
	                    "handler_mode", job->handler_mode);

	if (o && session_id)
		json_object_set_new(o, "session_id", json_string(session_id));
	log_event("info", "sandbox.run.start", o);
}

/* The step that decides the job's fate: the first that did not succeed. */
static const struct jail_step_result *deciding_step(const struct jail_result *res)
{
	if (res->nsteps == 0)
		return NULL;
	for (size_t i = 0; i < res->nsteps; i++)
		if (res->steps[i].status != JAIL_SUCCESS)
			return &res->steps[i];
	return &res->steps[res->nsteps - 1];
}

/* After the answer: status is what the answer said (resp_status). */
void svc_run_log_finish(const struct http_req *r, const struct jail_result *res,
                        const char *status, const struct run_facts *f, const char *session_id)
{
	json_t *o;
	const struct jail_step_result *st = deciding_step(res);
	uint64_t out_bytes = 0;

	for (size_t i = 0; i < res->nfiles; i++)
		out_bytes += res->files[i].len;
	o = json_pack("{s:s, s:o, s:s, s:b, s:s?, s:i, s:b, s:b, s:I, s:I, s:I, s:I, s:I, s:I, s:I}",
	                    "request_id", r->request_id,
	                    "job_id", job_id_json(f),
	                    "status", status,
	                    "warm", f->warm,
	                    "cold_reason", f->cold_reason,
	                    "exit_code", st ? st->exit_code : -1,
	                    "timed_out", st && st->status == JAIL_TIMEOUT,
	                    "cancelled", res->cancelled,
	                    "duration_ms", (json_int_t)http_elapsed_ms(&r->t0),
	                    "input_files", f->input_files,
	                    "input_bytes", f->input_bytes,
	                    "output_files", (json_int_t)res->nfiles,
	                    "output_bytes", (json_int_t)out_bytes,
	                    "stdout_bytes", (json_int_t)(st ? st->out.len : 0),
	                    "stderr_bytes", (json_int_t)(st ? st->err.len : 0));
	if (o && session_id)
		json_object_set_new(o, "session_id", json_string(session_id));
	log_event("info", "sandbox.run.finish", o);
}

void svc_run_sandbox_failure(struct http_req *r, const struct jail_error *e, bool streamed)
{
	log_event("error", "sandbox.run.failure",
	          json_pack("{s:s, s:s, s:i, s:s, s:I}", "request_id", r->request_id,
	                    "step", e->step, "errno", e->err, "detail", e->detail,
	                    "duration_ms", (json_int_t)http_elapsed_ms(&r->t0)));
	if (!streamed)       /* else stream_run sent it as the error line */
		http_send_json(r, 500, resp_sandbox_failure(e, false), NULL);
}

bool svc_wants_stream(const struct http_req *r, const struct req_job *job)
{
	if (job->stream_set)
		return job->stream;
	return http_accepts_ndjson(r->accept);
}

static void run_job(struct svc *s, struct http_req *r, struct req_job *job)
{
	struct jail_spec spec;
	struct jail_result res;
	struct resp_opts ro;
	const char *status = NULL;
	bool streamed;
	int rc;
	char *warm_frame = NULL, *warm_key = NULL;
	struct run_facts f;
	/* Registry strings: valid until the next refresh, between requests. */
	const char *rt_name = job->runtime ? job->runtime->name : "";
	const char *tmpl_name = job->tmpl ? job->tmpl->name : "";

	memset(&spec, 0, sizeof spec);
	memset(&res, 0, sizeof res);
	svc_run_facts(job, &f);
	/* The handler's context: this request's id and its wall limit. */
	if (req_job_context_env(job, r->request_id) < 0 ||
	    req_job_spec(job, &s->cfg.req, &spec) < 0) {
		http_send_error(r, 500, "internal", "could not prepare the job", NULL, NULL);
		return;
	}
	/* A client that leaves makes nginx close our connection (nginx/'s
	 * fastcgi_ignore_client_abort off): then the job is stopped at once
	 * instead of running to its wall limit for nobody. */
	spec.cancel_on_hangup = true;
	spec.cancel_fd = r->fx->ipcFd;
	/* A warm interpreter may serve it when the job fits (api/warm.c);
	 * the jail still checks the rest (limits, memory in use). */
	if (job->runtime && job->tmpl && req_warm_supported(job->runtime))
		warm_pick_note(&s->warm_pick, job->runtime->name, job->tmpl->name);
	if (s->warm.key && job->runtime && job->tmpl) {
		f.cold_reason = req_warm_job(job, &warm_frame, &spec.warm_frame_len);
		if (!f.cold_reason) {
			warm_key = req_warm_key(job->tmpl, job->runtime);
			spec.warm_key = warm_key;
			spec.warm_frame = warm_frame;
		}
	}
	svc_run_log_start(r, job, &f, NULL);
	svc_run_resp_opts(&spec, job, &f, &status, &ro);
	streamed = svc_wants_stream(r, job);
	/* Streamed: the 200 is out before the run, a failure is its last line. */
	rc = streamed ? stream_run(r, s->jail, &spec, &res, &ro, NULL, NULL) : jail_run(s->jail, &spec, &res);
	free(warm_frame);
	free(warm_key);
	f.warm = res.warm;
	if (s->warm.key && !res.warm && !f.cold_reason)
		f.cold_reason = res.cold_reason ? res.cold_reason : "none waiting";
	if (s->warm.key)
		met_warm(s->met.store, rt_name, res.warm, f.cold_reason);
	if (rc < 0) {
		met_setup_failure(s->met.store, res.error.step);
		met_run(s->met.store, rt_name, tmpl_name, "sandbox_failure", http_elapsed_ms(&r->t0));
		svc_run_sandbox_failure(r, &res.error, streamed);
		jail_result_free(&res);
		return;
	}
	/* The job's files and stdin are in the jail's past: let them go
	 * before the answer (docs/OPERATIONS.md, "Responder memory"). */
	req_job_free(job);
	/* A write error means the client left; the jail is already gone. */
	if (!streamed)
		http_send_result(r, &res, &ro);
	/* Out of memory before the answer's status was decided: the same
	 * decision without the handler's verdict, which needed that memory. */
	if (!status)
		status = resp_status(&res, &ro, false);
	svc_run_log_finish(r, &res, status, &f, NULL);
	met_run(s->met.store, rt_name, tmpl_name, status, http_elapsed_ms(&r->t0));
	jail_result_free(&res);
}

void svc_handle_run(struct svc *s, struct http_req *r)
{
	struct req_job job;
	struct req_error err;

	if (svc_check_json_headers(s, r) < 0)
		return;
	svc_refresh_registry(s);
	memset(&job, 0, sizeof job);
	memset(&err, 0, sizeof err);
	/* The body is parsed as it arrives, never held whole; its values and
	 * jansson's memory are bounded on the way (issue 8, finding 2). */
	if (req_parse_run_stream(http_body_read, r, &s->cfg.req, &s->reg, &job, &err) < 0) {
		/* An incomplete body: the client went away while sending and
		 * nobody reads the answer, but it is still the right one. */
		http_send_error(r, err.http_status > 0 ? err.http_status : 400, err.code,
		                err.message, err.field[0] ? err.field : NULL, NULL);
	} else {
		run_job(s, r, &job);
	}
	req_job_free(&job);
}

/*
 * req_spec.c - a validated job into the jail's struct jail_spec, and the
 * job's release. The spec points into the job; nothing is copied twice.
 */
#include <stdlib.h>
#include <string.h>

#include "api/req_private.h"
#include "common/strv.h"

/* The runtime's own compile limits (operator data in runtimes.json) over
 * the configured compile defaults. */
struct jail_limits req_compile_base(const struct rt_runtime *rt, const struct req_config *cfg)
{
	const struct rt_limits_override *o = &rt->compile_limits;
	struct jail_limits l = cfg->compile_defaults;

	if (o->wall_time_ms)
		l.wall_time_ms = o->wall_time_ms;
	if (o->cpu_time_ms)
		l.cpu_time_ms = o->cpu_time_ms;
	else if (o->wall_time_ms)
		l.cpu_time_ms = o->wall_time_ms;
	if (o->memory_mb)
		l.memory_bytes = o->memory_mb << 20;
	if (o->max_processes)
		l.max_processes = o->max_processes;
	if (o->max_output_bytes)
		l.max_output_bytes = o->max_output_bytes;
	return l;
}

/* The request may lower the compile step's wall time and memory (checked
 * against req_compile_base when parsed); CPU time follows a lower wall. */
static struct jail_limits compile_limits(const struct req_job *job, const struct req_config *cfg)
{
	struct jail_limits l = req_compile_base(job->runtime, cfg);

	if (job->compile_wall_ms) {
		l.wall_time_ms = job->compile_wall_ms;
		if (l.cpu_time_ms > l.wall_time_ms)
			l.cpu_time_ms = l.wall_time_ms;
	}
	if (job->compile_memory_mb)
		l.memory_bytes = job->compile_memory_mb << 20;
	return l;
}

static int spec_files(struct req_job *job)
{
	size_t n = 0;

	free(job->jfiles);
	job->njfiles = 0;
	job->jfiles = calloc(job->nfiles + 2, sizeof *job->jfiles);
	if (!job->jfiles)
		return -1;
	if (job->code)
		job->jfiles[n++] = (struct jail_file){ .path = job->runtime->file, .data = job->code,
		                                       .len = job->code_len, .base = JAIL_IN_WORK };
	for (size_t i = 0; i < job->nfiles; i++)
		job->jfiles[n++] = (struct jail_file){
			.path = job->files[i].path, .data = job->files[i].data, .len = job->files[i].len,
			.executable = job->files[i].executable, .base = JAIL_IN_WORK };
	/* The event lives in /tmp/.sandbox, away from /work: outputs globs can
	 * never return it and user files can never clash with it. */
	if (job->handler_mode)
		job->jfiles[n++] = (struct jail_file){ .path = REQ_EVENT_PATH, .data = job->event_json,
		                                       .len = strlen(job->event_json), .base = JAIL_IN_TMP };
	job->njfiles = n;
	return 0;
}

void req_config_spec(const struct req_config *cfg, struct jail_spec *spec)
{
	spec->work_bytes = cfg->work_mb << 20;
	spec->tmp_bytes = cfg->tmp_mb << 20;
	spec->max_output_files = cfg->max_output_files;
	spec->max_output_file_bytes = cfg->max_output_file_bytes;
	spec->max_output_total_bytes = cfg->max_output_total_bytes;
}

int req_job_spec(struct req_job *job, const struct req_config *cfg, struct jail_spec *spec)
{
	size_t s = 0;

	if (!job->tmpl || !job->runtime || !job->argv || spec_files(job))
		return -1;
	if (job->compile_argv) {
		job->compile_limits = compile_limits(job, cfg);
		job->steps[s++] = (struct jail_step){ .name = "compile", .argv = job->compile_argv,
		                                      .limits = job->compile_limits };
	}
	job->steps[s++] = (struct jail_step){ .name = "run", .argv = job->argv,
	                                      .stdin_data = job->stdin_data,
	                                      .stdin_len = job->stdin_len, .limits = job->limits };
	memset(spec, 0, sizeof *spec);
	spec->rootfs = job->tmpl->tree;
	spec->envp = job->envp;
	spec->files = job->jfiles;
	spec->nfiles = job->njfiles;
	spec->steps = job->steps;
	spec->nsteps = s;
	req_config_spec(cfg, spec);
	spec->outputs = (const char *const *)job->outputs;
	spec->noutputs = job->noutputs;
	if (job->handler_mode) {
		spec->result_path = REQ_RESULT_PATH;
		spec->max_result_bytes = cfg->max_result_bytes;
	}
	return 0;
}

void req_job_free(struct req_job *job)
{
	if (!job)
		return;
	free(job->code);
	for (size_t i = 0; i < job->nfiles; i++) {
		free(job->files[i].path);
		free(job->files[i].data);
	}
	free(job->files);
	strv_free(job->argv);
	strv_free(job->envp);
	free(job->stdin_data);
	free(job->handler);
	free(job->event_json);
	strv_free(job->outputs);
	free(job->jfiles);
	strv_free(job->compile_argv);
	memset(job, 0, sizeof *job);
}

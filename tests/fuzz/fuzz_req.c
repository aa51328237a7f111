/*
 * fuzz_req.c - libFuzzer target over the request path of the responder:
 * req_parse_run() + req_job_spec() + resp_error(), against a small
 * in-memory registry (no files). Besides the sanitizers, it asserts the
 * properties the responder relies on: a refused request has a 4xx/5xx
 * status, a code and a message that make a valid JSON error; an accepted
 * one yields a spec whose paths pass the path rules and whose argv and
 * envp are non-empty.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "api/req.h"
#include "api/resp.h"
#include "api/rt.h"
#include "common/path.h"

static char *py_alias[] = { "python3", "py", NULL };
static char *py_run[] = { "python3", "{file}", NULL };
static char *py_handler[] = { "python3", "/opt/sandbox/shims/handler.py", "{handler}",
                              "{event}", "{result}", NULL };
static char *sh_alias[] = { "shell", "sh", NULL };
static char *sh_run[] = { "bash", "{file}", NULL };
static char *c_alias[] = { NULL };
static char *c_compile[] = { "gcc", "-O2", "-o", "main", "{file}", "-lm", NULL };
static char *c_run[] = { "./main", NULL };

static struct rt_runtime minimal_rts[] = {
	{ .name = "python", .aliases = py_alias, .version = "3.11.2", .file = "main.py",
	  .run_argv = py_run, .handler_argv = py_handler, .limits = { .memory_mb = 512 } },
	{ .name = "bash", .aliases = sh_alias, .version = "5.2.15", .file = "main.sh",
	  .run_argv = sh_run },
};
static struct rt_runtime compilers_rts[] = {
	{ .name = "c", .aliases = c_alias, .version = "12.2.0", .file = "main.c",
	  .run_argv = c_run, .compile_argv = c_compile,
	  .compile_limits = { .wall_time_ms = 30000, .memory_mb = 512 } },
};
static struct rt_template templates[] = {
	{ .name = "compilers", .version_dir = "/r/compilers/v1", .tree = "/r/compilers/v1/tree",
	  .manifest_hash = "", .link_target = "v1", .runtimes = compilers_rts, .nruntimes = 1 },
	{ .name = "minimal", .version_dir = "/r/minimal/v1", .tree = "/r/minimal/v1/tree",
	  .manifest_hash = "", .link_target = "v1", .runtimes = minimal_rts, .nruntimes = 2 },
};
static struct rt_registry reg = { .base = "/r", .templates = templates, .ntemplates = 2 };

static void check_spec(const struct jail_spec *spec, const struct req_config *cfg)
{
	if (!spec->nsteps || spec->nsteps > JAIL_MAX_STEPS || !spec->envp || !spec->envp[0])
		abort();
	for (size_t i = 0; i < spec->nsteps; i++)
		if (!spec->steps[i].argv || !spec->steps[i].argv[0] || !spec->steps[i].limits.wall_time_ms)
			abort();
	for (size_t i = 0; i < spec->nfiles; i++) {
		const char *p = spec->files[i].path;
		if (path_check(p, strlen(p), cfg->max_path_depth))
			abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct req_config cfg;
	struct req_job job;
	struct req_error err;
	struct jail_spec spec;

	req_config_defaults(&cfg);
	cfg.max_body_bytes = 1u << 20;
	if (req_parse_run((const char *)data, size, &cfg, &reg, &job, &err) == 0) {
		if (req_job_spec(&job, &cfg, &spec) != 0)
			abort();
		check_spec(&spec, &cfg);
		req_job_free(&job);
		return 0;
	}
	if (err.http_status < 400 || !err.code[0] || !err.message[0])
		abort();
	json_t *e = resp_error(err.code, err.message, err.field);
	char *s = e ? json_dumps(e, JSON_COMPACT) : NULL;
	if (!s || !json_string_value(json_object_get(json_object_get(e, "error"), "message"))[0])
		abort();   /* the error answer must always be valid, non-empty JSON */
	free(s);
	json_decref(e);
	return 0;
}

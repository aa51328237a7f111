/* check_req.c - valid requests: what the job and the jail_spec contain. */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "api_test.h"
#include "api/warm.h"
#include "common/sha256.h"
#include "common/strv.h"
#include "api/api_load.h"

static char dir[64];
static struct rt_registry reg;
static struct req_config cfg;
static struct req_job job;
static struct req_error err;
static struct jail_spec spec;

static void setup(void)
{
	snprintf(dir, sizeof dir, "/tmp/check-api-XXXXXX");
	fixture_make(dir, &reg);
	req_config_defaults(&cfg);
}

static void teardown(void)
{
	req_job_free(&job);
	rt_registry_free(&reg);
	fixture_remove(dir);
}

static void parse_ok(const char *body)
{
	int rc = req_parse_run(body, strlen(body), &cfg, &reg, &job, &err);
	ck_assert_msg(rc == 0, "refused: %d %s %s: %s", err.http_status, err.code, err.field, err.message);
	ck_assert_int_eq(req_job_spec(&job, &cfg, &spec), 0);
}

static const char *env_get(const char *name)
{
	size_t n = strlen(name);
	for (char **e = job.envp; *e; e++)
		if (strncmp(*e, name, n) == 0 && (*e)[n] == '=')
			return *e + n + 1;
	return NULL;
}

START_TEST(minimal_defaults)
{
	parse_ok("{\"runtime\": \"python\", \"code\": \"print(1)\"}");
	ck_assert_str_eq(job.tmpl->name, "minimal");
	ck_assert_str_eq(job.runtime->name, "python");
	ck_assert_str_eq(job.argv[0], "python3");
	ck_assert_str_eq(job.argv[1], "main.py");
	ck_assert_ptr_null(job.argv[2]);
	ck_assert_str_eq(spec.rootfs, job.tmpl->tree);
	ck_assert_uint_eq(spec.nsteps, 1);
	ck_assert_str_eq(spec.steps[0].name, "run");
	ck_assert_uint_eq(spec.nfiles, 1);
	ck_assert_str_eq(spec.files[0].path, "main.py");
	ck_assert_uint_eq(spec.files[0].len, 8);
	ck_assert_int_eq(spec.files[0].base, JAIL_IN_WORK);
	/* Config defaults, except memory where the runtime sets 512 MiB. */
	ck_assert_uint_eq(spec.steps[0].limits.wall_time_ms, 10000);
	ck_assert_uint_eq(spec.steps[0].limits.cpu_time_ms, 10000);
	ck_assert_uint_eq(spec.steps[0].limits.memory_bytes, 512ull << 20);
	ck_assert_uint_eq(spec.steps[0].limits.max_processes, 64);
	ck_assert_uint_eq(spec.steps[0].limits.max_output_bytes, 1u << 20);
	ck_assert_uint_eq(spec.work_bytes, cfg.work_mb << 20);
	ck_assert_ptr_null(spec.result_path);
	ck_assert_str_eq(env_get("PATH"), "/usr/local/bin:/usr/bin:/bin");
	ck_assert_str_eq(env_get("HOME"), "/work");
	ck_assert_str_eq(env_get("LANG"), "C.UTF-8");
	ck_assert_str_eq(env_get("TMPDIR"), "/tmp");
}
END_TEST

START_TEST(explicit_limits_and_cpu_follows_wall)
{
	parse_ok("{\"runtime\": \"bash\", \"code\": \"echo\", \"limits\": {\"wall_time_ms\": 2500,"
	         " \"memory_mb\": 16, \"max_processes\": 1, \"max_output_bytes\": 1024}}");
	ck_assert_uint_eq(job.limits.wall_time_ms, 2500);
	ck_assert_uint_eq(job.limits.cpu_time_ms, 2500);
	ck_assert_uint_eq(job.limits.memory_bytes, 16ull << 20);
	ck_assert_uint_eq(job.limits.max_processes, 1);
	ck_assert_uint_eq(job.limits.max_output_bytes, 1024);
	req_job_free(&job);
	parse_ok("{\"runtime\": \"bash\", \"code\": \"echo\", \"limits\": {\"wall_time_ms\": 120000,"
	         " \"cpu_time_ms\": 1, \"memory_mb\": 4096, \"max_processes\": 1024,"
	         " \"max_output_bytes\": 16777216}}");
	ck_assert_uint_eq(job.limits.cpu_time_ms, 1);
	ck_assert_uint_eq(job.limits.memory_bytes, 4096ull << 20);
}
END_TEST

START_TEST(files_entrypoint_args)
{
	parse_ok("{\"runtime\": \"python:3.11\", \"files\": ["
	         "{\"path\": \"test.py\", \"content\": \"import lib\"},"
	         "{\"path\": \"pkg/lib.py\", \"content\": \"AAEC/w==\", \"encoding\": \"base64\"},"
	         "{\"path\": \"run.sh\", \"content\": \"\", \"encoding\": \"utf8\", \"executable\": true}],"
	         " \"entrypoint\": \"python -u 'test file.py'\", \"args\": [\"--n\", \"a b\"],"
	         " \"stdin\": \"in\\u0000put\"}");
	const char *want[] = { "python", "-u", "test file.py", "--n", "a b", NULL };
	for (size_t i = 0; i < 6; i++)
		ck_assert_pstr_eq(job.argv[i], want[i]);
	ck_assert_uint_eq(spec.nfiles, 3);   /* no code: no main.py */
	ck_assert_str_eq(spec.files[1].path, "pkg/lib.py");
	ck_assert_uint_eq(spec.files[1].len, 4);
	ck_assert(memcmp(spec.files[1].data, "\x00\x01\x02\xff", 4) == 0);
	ck_assert(!spec.files[0].executable);
	ck_assert(spec.files[2].executable);
	ck_assert_uint_eq(spec.steps[0].stdin_len, 6);
	ck_assert(memcmp(spec.steps[0].stdin_data, "in\0put", 6) == 0);
}
END_TEST

START_TEST(entrypoint_array)
{
	parse_ok("{\"runtime\": \"sh\", \"code\": \"x\", \"entrypoint\": [\"bash\", \"-c\", \"echo $HOME; ls\"]}");
	ck_assert_str_eq(job.runtime->name, "bash");
	ck_assert_str_eq(job.argv[2], "echo $HOME; ls");
	ck_assert_ptr_null(job.argv[3]);
}
END_TEST

START_TEST(env_user_overrides_defaults)
{
	parse_ok("{\"runtime\": \"js\", \"code\": \"1\", \"env\": {\"PATH\": \"/bin\", \"FOO\": \"\","
	         " \"LD_PRELOAD\": \"/x.so\"}}");
	ck_assert_str_eq(env_get("PATH"), "/bin");
	ck_assert_str_eq(env_get("FOO"), "");
	ck_assert_str_eq(env_get("LD_PRELOAD"), "/x.so");
	ck_assert_str_eq(env_get("HOME"), "/work");
	size_t n = 0;
	for (char **e = job.envp; *e; e++)
		n += strncmp(*e, "PATH=", 5) == 0;
	ck_assert_uint_eq(n, 1);
}
END_TEST

START_TEST(handler_mode)
{
	parse_ok("{\"runtime\": \"python\", \"code\": \"def handler(e, c): return e\","
	         " \"event\": {\"b\": [1, 2.5, null], \"a\": \"\\u00e9\"}}");
	ck_assert(job.handler_mode);
	const char *want[] = { "python3", "/opt/sandbox/shims/handler.py", "main.handler",
	                       "/tmp/.sandbox/event.json", "/tmp/.sandbox/result.json", NULL };
	for (size_t i = 0; i < 6; i++)
		ck_assert_pstr_eq(job.argv[i], want[i]);
	ck_assert_uint_eq(spec.nfiles, 2);
	ck_assert_str_eq(spec.files[1].path, ".sandbox/event.json");
	ck_assert_int_eq(spec.files[1].base, JAIL_IN_TMP);
	ck_assert_str_eq((const char *)spec.files[1].data, "{\"b\":[1,2.5,null],\"a\":\"\xc3\xa9\"}");
	ck_assert_str_eq(spec.result_path, ".sandbox/result.json");
	ck_assert_uint_eq(spec.max_result_bytes, cfg.max_result_bytes);
}
END_TEST

/* "stream" only says how the answer goes: given or not, and its value. */
START_TEST(stream_flag)
{
	parse_ok("{\"runtime\": \"bash\", \"code\": \"\"}");
	ck_assert(!job.stream && !job.stream_set);
	req_job_free(&job);
	parse_ok("{\"runtime\": \"bash\", \"code\": \"\", \"stream\": true}");
	ck_assert(job.stream && job.stream_set);
	req_job_free(&job);
	parse_ok("{\"runtime\": \"bash\", \"code\": \"\", \"stream\": false}");
	ck_assert(!job.stream && job.stream_set);
	ck_assert_ptr_null(spec.on_output);
}
END_TEST

START_TEST(handler_without_event)
{
	parse_ok("{\"runtime\": \"node\", \"files\": [{\"path\": \"src/app.js\", \"content\": \"\"}],"
	         " \"handler\": \"src/app.main_fn\"}");
	ck_assert_str_eq(job.argv[2], "src/app.main_fn");
	ck_assert_str_eq(job.event_json, "null");
	req_job_free(&job);
	parse_ok("{\"runtime\": \"python\", \"code\": \"\", \"handler\": \"pkg.mod.run\"}");
	ck_assert_str_eq(job.argv[2], "pkg.mod.run");
}
END_TEST

START_TEST(compile_steps)
{
	parse_ok("{\"template\": \"compilers\", \"runtime\": \"c\", \"code\": \"int main(){}\","
	         " \"stdin\": \"5\", \"limits\": {\"wall_time_ms\": 1000}, \"outputs\": [\"*.txt\"]}");
	ck_assert_uint_eq(spec.nsteps, 2);
	ck_assert_str_eq(spec.steps[0].name, "compile");
	ck_assert_str_eq(spec.steps[0].argv[4], "main.c");
	ck_assert_uint_eq(spec.steps[0].limits.wall_time_ms, 30000);       /* runtime's */
	ck_assert_uint_eq(spec.steps[0].limits.memory_bytes, 512ull << 20);
	ck_assert_uint_eq(spec.steps[0].limits.max_processes,
	                  cfg.compile_defaults.max_processes);             /* config's */
	ck_assert_uint_eq(spec.steps[0].stdin_len, 0);                     /* stdin is the run's */
	ck_assert_str_eq(spec.steps[1].name, "run");
	ck_assert_str_eq(spec.steps[1].argv[0], "./main");
	ck_assert_uint_eq(spec.steps[1].limits.wall_time_ms, 1000);
	ck_assert_uint_eq(spec.steps[1].stdin_len, 1);
	ck_assert_uint_eq(spec.noutputs, 1);
	ck_assert_str_eq(spec.outputs[0], "*.txt");
	ck_assert_uint_eq(spec.max_output_files, 32);
}
END_TEST

START_TEST(spec_twice_is_stable)
{
	parse_ok("{\"runtime\": \"python\", \"code\": \"1\", \"files\": [{\"path\": \"a\", \"content\": \"b\"}]}");
	ck_assert_int_eq(req_job_spec(&job, &cfg, &spec), 0);
	ck_assert_uint_eq(spec.nfiles, 2);
	ck_assert_uint_eq(spec.nsteps, 1);
}
END_TEST

START_TEST(unknown_runtime_lists)
{
	const char *b = "{\"runtime\": \"ruby\", \"code\": \"1\"}";
	ck_assert_int_eq(req_parse_run(b, strlen(b), &cfg, &reg, &job, &err), -1);
	ck_assert_int_eq(err.http_status, 400);
	ck_assert_str_eq(err.code, "unknown_runtime");
	ck_assert_str_eq(err.field, "runtime");
	ck_assert_ptr_nonnull(strstr(err.message, "python 3.11.2 (alias python3, py)"));
	ck_assert_ptr_nonnull(strstr(err.message, "node 18.19.0 (alias javascript, js)"));
	ck_assert_ptr_nonnull(strstr(err.message, "bash 5.2.15"));
	b = "{\"template\": \"gpu\", \"runtime\": \"python\", \"code\": \"1\"}";
	ck_assert_int_eq(req_parse_run(b, strlen(b), &cfg, &reg, &job, &err), -1);
	ck_assert_str_eq(err.code, "unknown_template");
	ck_assert_ptr_nonnull(strstr(err.message, "available: compilers, minimal"));
}
END_TEST

START_TEST(failure_leaves_job_empty)
{
	const char *b = "{\"runtime\": \"python\", \"code\": \"1\", \"files\": [{\"path\": \"a\","
	                " \"content\": \"b\"}], \"env\": {\"A\": \"1\"}, \"limits\": {\"memory_mb\": 1}}";
	ck_assert_int_eq(req_parse_run(b, strlen(b), &cfg, &reg, &job, &err), -1);
	ck_assert_ptr_null(job.files);
	ck_assert_ptr_null(job.envp);
	ck_assert_ptr_null(job.code);
	ck_assert_str_eq(err.field, "limits.memory_mb");
	ck_assert_ptr_nonnull(strstr(err.message, "from 16 to 4096"));
}
END_TEST

START_TEST(null_body)
{
	/* The responder may hand over no buffer at all for an empty body. */
	ck_assert_int_eq(req_parse_run(NULL, 0, &cfg, &reg, &job, &err), -1);
	ck_assert_int_eq(err.http_status, 400);
	ck_assert_str_eq(err.code, "invalid_json");
}
END_TEST

START_TEST(error_json)
{
	json_t *e = resp_error("invalid_field", "bad", "files[0].path");
	char *s = json_dumps(e, JSON_SORT_KEYS | JSON_COMPACT);
	ck_assert_str_eq(s, "{\"error\":{\"code\":\"invalid_field\",\"field\":\"files[0].path\",\"message\":\"bad\"}}");
	free(s);
	json_decref(e);
	e = resp_error("too_large", "body", "");
	ck_assert_ptr_null(json_object_get(json_object_get(e, "error"), "field"));
	json_decref(e);
}
END_TEST


/* Each alias means exactly its field: the job equals the one from our names. */
START_TEST(aliases_same_job)
{
	parse_ok("{\"language\": \"js\", \"code\": \"1\", \"env_vars\": {\"A\": \"b\"},"
	         " \"input_files\": [{\"path\": \"d.bin\", \"content\": \"AAE=\", \"encoding\": \"base64\"}],"
	         " \"timeout\": 3, \"execution_id\": \"exec-1:A_b.c\"}");
	ck_assert_str_eq(job.runtime->name, "node");
	ck_assert_str_eq(env_get("A"), "b");
	ck_assert_uint_eq(job.nfiles, 1);
	ck_assert_str_eq(job.files[0].path, "d.bin");
	ck_assert_uint_eq(job.files[0].len, 2);
	ck_assert_uint_eq(job.limits.wall_time_ms, 3000);
	ck_assert_uint_eq(job.limits.cpu_time_ms, 3000);   /* follows the wall as for wall_time_ms */
	ck_assert_str_eq(job.job_id, "exec-1:A_b.c");
	ck_assert_ptr_null(job.output_encoding);
	req_job_free(&job);
	parse_ok("{\"runtime\": \"python\", \"code\": \"1\", \"job_id\": \"j\", \"timeout_s\": 2.5,"
	         " \"limits\": {\"memory_mb\": 64}}");
	ck_assert_str_eq(job.job_id, "j");
	ck_assert_uint_eq(job.limits.wall_time_ms, 2500);
	ck_assert_uint_eq(job.limits.memory_bytes, 64ull << 20);   /* limits kept */
}
END_TEST

/* Seconds to milliseconds: rounded to the nearest, the range's ends kept. */
START_TEST(timeout_rounding)
{
	static const struct { const char *v; uint64_t ms; } t[] = {
		{ "0.001", 1 }, { "0.0005", 1 }, { "0.29", 290 }, { "1.0014", 1001 }, { "0.0014", 1 }, { "1.2345", 1235 },
		{ "120", 120000 }, { "120.0004", 120000 }, { "1e1", 10000 }, { "7", 7000 },
	};
	char body[128];

	for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
		snprintf(body, sizeof body, "{\"runtime\": \"bash\", \"code\": \"\", \"timeout_s\": %s}", t[i].v);
		parse_ok(body);
		ck_assert_msg(job.limits.wall_time_ms == t[i].ms,
		              "%s -> %llu", t[i].v, (unsigned long long)job.limits.wall_time_ms);
		req_job_free(&job);
	}
}
END_TEST

START_TEST(output_encoding_values)
{
	parse_ok("{\"runtime\": \"bash\", \"code\": \"\", \"output_encoding\": \"base64\"}");
	ck_assert_str_eq(job.output_encoding, "base64");
	req_job_free(&job);
	parse_ok("{\"runtime\": \"bash\", \"code\": \"\", \"output_encoding\": \"utf8\"}");
	ck_assert_str_eq(job.output_encoding, "utf8");
	req_job_free(&job);
	parse_ok("{\"runtime\": \"bash\", \"code\": \"\"}");
	ck_assert_ptr_null(job.output_encoding);
	ck_assert_str_eq(job.job_id, "");
}
END_TEST

START_TEST(compile_limits_lowered)
{
	parse_ok("{\"template\": \"compilers\", \"runtime\": \"c\", \"code\": \"int main(){}\","
	         " \"limits\": {\"compile_wall_time_ms\": 700, \"compile_memory_mb\": 16, \"wall_time_ms\": 50}}");
	ck_assert_uint_eq(spec.steps[0].limits.wall_time_ms, 700);
	ck_assert_uint_eq(spec.steps[0].limits.cpu_time_ms, 700);        /* follows a lower wall */
	ck_assert_uint_eq(spec.steps[0].limits.memory_bytes, 16ull << 20);
	ck_assert_uint_eq(spec.steps[0].limits.max_processes, cfg.compile_defaults.max_processes);
	ck_assert_uint_eq(spec.steps[1].limits.wall_time_ms, 50);         /* the run's own */
	req_job_free(&job);
	/* The upper ends: the runtime's own compile limits. */
	parse_ok("{\"template\": \"compilers\", \"runtime\": \"c\", \"code\": \"int main(){}\","
	         " \"limits\": {\"compile_wall_time_ms\": 30000, \"compile_memory_mb\": 512}}");
	ck_assert_uint_eq(spec.steps[0].limits.wall_time_ms, 30000);
	ck_assert_uint_eq(spec.steps[0].limits.memory_bytes, 512ull << 20);
}
END_TEST

static size_t env_count(const char *name)
{
	size_t n = 0, l = strlen(name);
	for (char **e = job.envp; *e; e++)
		n += strncmp(*e, name, l) == 0 && (*e)[l] == '=';
	return n;
}

START_TEST(handler_context_env)
{
	parse_ok("{\"runtime\": \"python\", \"code\": \"\", \"event\": 1, \"timeout_s\": 4,"
	         " \"env\": {\"SANDBOX_REQUEST_ID\": \"spoof\", \"SANDBOX_WALL_MS\": \"1\"}}");
	ck_assert_int_eq(req_job_context_env(&job, "abc123"), 0);
	ck_assert_str_eq(env_get("SANDBOX_REQUEST_ID"), "abc123");
	ck_assert_str_eq(env_get("SANDBOX_WALL_MS"), "4000");
	ck_assert_uint_eq(env_count("SANDBOX_REQUEST_ID"), 1);
	ck_assert_uint_eq(env_count("SANDBOX_WALL_MS"), 1);
	ck_assert_int_eq(req_job_spec(&job, &cfg, &spec), 0);
	ck_assert_ptr_eq(spec.envp, job.envp);
	req_job_free(&job);
	/* No request id (sandbox-run): the wall only. */
	parse_ok("{\"runtime\": \"node\", \"code\": \"\", \"event\": 1}");
	ck_assert_int_eq(req_job_context_env(&job, NULL), 0);
	ck_assert_ptr_null(env_get("SANDBOX_REQUEST_ID"));
	ck_assert_str_eq(env_get("SANDBOX_WALL_MS"), "10000");
	req_job_free(&job);
	/* Not in handler mode: nothing added. */
	parse_ok("{\"runtime\": \"python\", \"code\": \"\"}");
	ck_assert_int_eq(req_job_context_env(&job, "abc"), 0);
	ck_assert_ptr_null(env_get("SANDBOX_REQUEST_ID"));
	ck_assert_ptr_null(env_get("SANDBOX_WALL_MS"));
}
END_TEST

/* Warm interpreters (api/warm.c): which jobs one may serve, and the frame
 * its bootstrap reads: "LEN\n", then argc, argv..., envc, env..., each
 * ending in a NUL byte. */
static const char *warm_why(const char *body, char **frame, size_t *len)
{
	req_job_free(&job);
	parse_ok(body);
	return req_warm_job(&job, frame, len);
}

START_TEST(warm_frame_format)
{
	char *frame;
	size_t len;
	const char *why = warm_why("{\"runtime\": \"python\", \"code\": \"1\", \"args\": [\"a b\"],"
	                           " \"env\": {\"X\": \"1\"}}", &frame, &len);
	ck_assert_msg(why == NULL, "%s", why);
	char *nl = memchr(frame, '\n', len);
	ck_assert_ptr_nonnull(nl);
	ck_assert_uint_eq(strtoul(frame, NULL, 10), len - (size_t)(nl + 1 - frame));
	const char *p = nl + 1;
	ck_assert_str_eq(p, "3");
	p += strlen(p) + 1;
	ck_assert_str_eq(p, "python3");
	p += strlen(p) + 1;
	ck_assert_str_eq(p, "main.py");
	p += strlen(p) + 1;
	ck_assert_str_eq(p, "a b");
	p += strlen(p) + 1;
	ck_assert_uint_eq(strtoul(p, NULL, 10), strv_len(job.envp));
	p += strlen(p) + 1;
	for (size_t i = 0; job.envp[i]; i++) {
		ck_assert_str_eq(p, job.envp[i]);
		p += strlen(p) + 1;
	}
	ck_assert_ptr_eq(p, frame + len);
	free(frame);
}
END_TEST

START_TEST(warm_misfits_go_cold)
{
	static const struct { const char *body, *why; } cases[] = {
		{ "{\"runtime\": \"bash\", \"code\": \"1\"}", "runtime" },
		{ "{\"runtime\": \"python\", \"code\": \"1\", \"entrypoint\": \"python3 -u main.py\"}", "entrypoint" },
		{ "{\"runtime\": \"python\", \"code\": \"1\", \"entrypoint\": \"/usr/bin/python3 main.py\"}", "entrypoint" },
		{ "{\"runtime\": \"python\", \"code\": \"1\", \"env\": {\"PYTHONPATH\": \"/x\"}}", "environment" },
		{ "{\"runtime\": \"python\", \"code\": \"1\", \"env\": {\"PYTHONSTARTUP\": \"\"}}", "environment" },
		{ "{\"runtime\": \"python\", \"code\": \"1\", \"env\": {\"LC_ALL\": \"C\"}}", "environment" },
		{ "{\"runtime\": \"python\", \"code\": \"1\", \"env\": {\"LANGUAGE\": \"de\"}}", "environment" },
		{ "{\"runtime\": \"python\", \"code\": \"1\", \"env\": {\"PATH\": \"/bin\"}}", "environment" },
		{ "{\"runtime\": \"python\", \"code\": \"1\", \"env\": {\"HOME\": \"/tmp\"}}", "environment" },
		{ "{\"runtime\": \"python\", \"code\": \"1\", \"env\": {\"LANG\": \"C\"}}", "environment" },
		{ "{\"runtime\": \"python\", \"code\": \"1\", \"files\": [{\"path\": \".local/x\", \"content\": \"\"}]}", "user site" },
		{ "{\"runtime\": \"python\", \"code\": \"def handler(e): return e\", \"event\": 1}", "handler mode" },
		{ "{\"runtime\": \"node\", \"code\": \"1\", \"env\": {\"NODE_OPTIONS\": \"--max-old-space-size=64\"}}", "environment" },
		{ "{\"runtime\": \"node\", \"code\": \"1\", \"env\": {\"NODE_PATH\": \"/x\"}}", "environment" },
		{ "{\"runtime\": \"node\", \"code\": \"1\", \"env\": {\"OPENSSL_CONF\": \"/x\"}}", "environment" },
		{ "{\"runtime\": \"node\", \"code\": \"1\", \"env\": {\"UV_THREADPOOL_SIZE\": \"1\"}}", "environment" },
		{ "{\"runtime\": \"node\", \"code\": \"1\", \"env\": {\"LC_ALL\": \"C\"}}", "environment" },
		{ "{\"runtime\": \"node\", \"code\": \"1\", \"env\": {\"HOME\": \"/tmp\"}}", "environment" },
		{ "{\"runtime\": \"node\", \"code\": \"1\", \"entrypoint\": \"node --stack-size=100 main.js\"}", "entrypoint" },
	};
	char *frame;
	size_t len;

	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		const char *why = warm_why(cases[i].body, &frame, &len);
		ck_assert_msg(why && strcmp(why, cases[i].why) == 0, "case %zu: %s", i, why ? why : "fits");
		ck_assert_ptr_null(frame);
	}
	/* Same values as the defaults, other variables, a .local-like name: warm. */
	ck_assert_ptr_null(warm_why("{\"runtime\": \"python\", \"code\": \"1\", \"env\": {\"HOME\": \"/work\","
	                            " \"MY_PYTHON\": \"1\", \"TMPDIR\": \"/tmp\"}, \"files\": [{\"path\": \".localx\","
	                            " \"content\": \"\"}], \"stdin\": \"x\"}", &frame, &len));
	free(frame);
	/* node: PYTHON* is not its start-up's, nor is .local (node reads
	 * HOME/.node_modules when it resolves, as cold) */
	ck_assert_ptr_null(warm_why("{\"runtime\": \"node\", \"code\": \"1\", \"env\": {\"PYTHONPATH\": \"/x\","
	                            " \"MY_NODE_X\": \"1\", \"NODE_ENV\": \"production\"},"
	                            " \"files\": [{\"path\": \".local/x\", \"content\": \"\"}]}",
	                            &frame, &len));
	free(frame);
}
END_TEST

START_TEST(warm_spec_has_the_highest_limits)
{
	struct req_warm w;
	const struct rt_template *t = &reg.templates[0];
	const struct rt_runtime *py = rt_find_runtime(t, "python");

	ck_assert_ptr_nonnull(py);
	ck_assert_int_eq(req_warm_make(t, py, &cfg, &w), 0);
	ck_assert_str_eq(w.spec.argv[0], "python3");
	ck_assert_str_eq(w.spec.argv[1], "-c");
	ck_assert_ptr_null(w.spec.argv[3]);
	ck_assert_uint_eq(w.spec.limits.memory_bytes, cfg.memory_mb.max << 20);
	ck_assert_uint_eq(w.spec.limits.max_processes, cfg.max_processes.max);
	ck_assert_str_eq(w.spec.rootfs, t->tree);
	char *k = req_warm_key(t, py);
	ck_assert_str_eq(w.spec.key, k);
	free(k);
	/* the environment of a request without env */
	req_job_free(&job);
	parse_ok("{\"runtime\": \"python\", \"code\": \"1\"}");
	ck_assert_uint_eq(strv_len(w.spec.envp), strv_len(job.envp));
	for (size_t i = 0; job.envp[i]; i++)
		ck_assert_str_eq(w.spec.envp[i], job.envp[i]);
	req_warm_free(&w);
	ck_assert_int_eq(req_warm_make(t, rt_find_runtime(t, "bash"), &cfg, &w), -1);
}
END_TEST

/* Makes (or removes) /opt/sandbox/shims in the template's tree. */
static void tree_shim_dirs(const struct rt_template *t, bool make)
{
	static const char *const dirs[] = { "/opt", "/opt/sandbox", "/opt/sandbox/shims" };
	char p[PATH_MAX];

	for (size_t k = 0; k < 3; k++) {
		size_t i = make ? k : 2 - k;
		snprintf(p, sizeof p, "%s%s", t->tree, dirs[i]);
		if (make)
			ck_assert_int_eq(mkdir(p, 0755), 0);
		else
			rmdir(p);
	}
}

/* An empty file rel in the template's tree; its path on the host in p. */
static void tree_touch(const struct rt_template *t, const char *rel, char p[PATH_MAX])
{
	snprintf(p, PATH_MAX, "%s%s", t->tree, rel);
	FILE *f = fopen(p, "w");
	ck_assert_ptr_nonnull(f);
	fclose(f);
}

/* The built-in Python bootstrap is the RootFS file warm.py, byte for
 * byte; a template holding the byte code compiled from it (named by the
 * text's SHA-256) runs that, any other runs the text with -c. */
START_TEST(warm_python_runs_the_byte_code_of_its_own_bootstrap)
{
	struct req_warm w;
	const struct rt_template *t = &reg.templates[0];
	const struct rt_runtime *py = rt_find_runtime(t, "python");
	char text[16384], name[WARM_PYC_PATH_MAX], want[WARM_PYC_PATH_MAX], hex[2 * SHA256_LEN + 1], p[PATH_MAX];
	unsigned char d[SHA256_LEN];
	struct sha256 c;

	FILE *f = fopen(WARM_PY_FILE, "rb");
	ck_assert_ptr_nonnull(f);
	size_t n = fread(text, 1, sizeof text - 1, f);
	fclose(f);
	text[n] = '\0';
	ck_assert_uint_lt(n, sizeof text - 1);
	ck_assert_str_eq(req_warm_python_boot, text);
	sha256_init(&c);
	sha256_update(&c, text, n);
	sha256_final(&c, d);
	sha256_hex(d, hex);
	snprintf(want, sizeof want, "/opt/sandbox/shims/warm-%.16s.pyc", hex);
	ck_assert_int_eq(req_warm_python_pyc(name), 0);
	ck_assert_str_eq(name, want);

	/* no byte code in the template: the text */
	ck_assert_int_eq(req_warm_make(t, py, &cfg, &w), 0);
	ck_assert_str_eq(w.spec.argv[1], "-c");
	ck_assert_str_eq(w.spec.argv[2], req_warm_python_boot);
	ck_assert_ptr_null(w.spec.argv[3]);
	req_warm_free(&w);

	/* byte code of another bootstrap: still the text */
	tree_shim_dirs(t, true);
	tree_touch(t, "/opt/sandbox/shims/warm-0123456789abcdef.pyc", p);
	ck_assert_int_eq(req_warm_make(t, py, &cfg, &w), 0);
	ck_assert_str_eq(w.spec.argv[1], "-c");
	req_warm_free(&w);
	unlink(p);

	/* its own byte code: that file, run directly */
	tree_touch(t, want, p);
	ck_assert_int_eq(req_warm_make(t, py, &cfg, &w), 0);
	ck_assert_str_eq(w.spec.argv[0], "python3");
	ck_assert_str_eq(w.spec.argv[1], want);
	ck_assert_ptr_null(w.spec.argv[2]);
	ck_assert_ptr_null(w.spec.cwd);
	req_warm_free(&w);
	unlink(p);
	tree_shim_dirs(t, false);
}
END_TEST

/* node's bootstrap is a file of the template: without it (a template
 * built before it existed) node has no warm interpreter. */
START_TEST(warm_node_needs_the_shim_in_the_template)
{
	struct req_warm w;
	const struct rt_template *t = rt_find_template(&reg, "minimal");
	const struct rt_runtime *node = rt_find_runtime(t, "node");
	char p[PATH_MAX];

	ck_assert_ptr_nonnull(node);
	ck_assert(req_warm_supported(node));
	ck_assert_int_eq(req_warm_make(t, node, &cfg, &w), -1);
	tree_shim_dirs(t, true);
	tree_touch(t, "/opt/sandbox/shims/warm.js", p);
	ck_assert_int_eq(req_warm_make(t, node, &cfg, &w), 0);
	ck_assert_str_eq(w.spec.argv[0], "node");
	ck_assert_str_eq(w.spec.argv[1], "-r");
	ck_assert_str_eq(w.spec.argv[2], "/opt/sandbox/shims/warm.js");
	ck_assert_str_eq(w.spec.argv[3], "/work/main.js");
	ck_assert_ptr_null(w.spec.argv[4]);
	ck_assert_str_eq(w.spec.cwd, "/");
	req_warm_free(&w);
	unlink(p);
	tree_shim_dirs(t, false);
}
END_TEST

/* --- session runs (req_parse_session_run_stream) --- */

static int parse_session(const char *body, json_t *defaults)
{
	struct api_mem_src m = { body, strlen(body) };
	struct req_session_run sr = { .tmpl = "minimal", .defaults = defaults };

	return req_parse_session_run_stream(api_mem_read, &m, &cfg, &reg, &sr, &job, &err);
}

static void session_ok(const char *body, json_t *defaults)
{
	int rc = parse_session(body, defaults);

	ck_assert_msg(rc == 0, "refused: %d %s %s: %s", err.http_status, err.code, err.field, err.message);
	ck_assert_int_eq(req_job_spec(&job, &cfg, &spec), 0);
}

static void session_refused(const char *body, int status, const char *code, const char *field)
{
	ck_assert_int_eq(parse_session(body, NULL), -1);
	ck_assert_int_eq(err.http_status, status);
	ck_assert_str_eq(err.code, code);
	ck_assert_str_eq(err.field, field);
	ck_assert_ptr_null(job.argv);
}

START_TEST(session_plain_command)
{
	session_ok("{\"entrypoint\": [\"ls\", \"-l\"]}", NULL);
	ck_assert_ptr_eq(job.runtime, &req_plain_runtime);
	ck_assert_str_eq(job.tmpl->name, "minimal");
	ck_assert_str_eq(job.argv[0], "ls");
	ck_assert_str_eq(job.argv[1], "-l");
	ck_assert_ptr_null(job.argv[2]);
	ck_assert_uint_eq(spec.nsteps, 1);
	ck_assert_uint_eq(spec.nfiles, 0);
	/* The operator's defaults: no runtime overrides them. */
	ck_assert_uint_eq(spec.steps[0].limits.wall_time_ms, 10000);
	ck_assert_uint_eq(spec.steps[0].limits.memory_bytes, 256ull << 20);
}
END_TEST

START_TEST(session_runtime_without_code)
{
	/* The workspace holds main.py: neither code nor files is needed. */
	session_ok("{\"runtime\": \"python\"}", NULL);
	ck_assert_str_eq(job.argv[0], "python3");
	ck_assert_str_eq(job.argv[1], "main.py");
	ck_assert_uint_eq(spec.nfiles, 0);
}
END_TEST

START_TEST(session_defaults_under_request)
{
	json_t *d = json_pack("{s:{s:i, s:i}, s:{s:s, s:s}}", "limits", "wall_time_ms", 2000,
	                      "memory_mb", 64, "env", "A", "1", "B", "2");

	session_ok("{\"entrypoint\": \"env\", \"limits\": {\"wall_time_ms\": 3000},"
	           " \"env\": {\"B\": \"mine\"}}", d);
	ck_assert_uint_eq(spec.steps[0].limits.wall_time_ms, 3000);
	ck_assert_uint_eq(spec.steps[0].limits.memory_bytes, 64ull << 20);
	ck_assert_str_eq(env_get("A"), "1");
	ck_assert_str_eq(env_get("B"), "mine");
	req_job_free(&job);
	/* Without limits or env in the request: the session's, whole. */
	session_ok("{\"entrypoint\": \"env\"}", d);
	ck_assert_uint_eq(spec.steps[0].limits.wall_time_ms, 2000);
	ck_assert_str_eq(env_get("B"), "2");
	/* The session's defaults are not changed by a run's merge. */
	ck_assert_int_eq(json_object_size(json_object_get(d, "limits")), 2);
	json_decref(d);
}
END_TEST

START_TEST(session_refusals)
{
	session_refused("{\"template\": \"compilers\", \"entrypoint\": \"ls\"}", 400,
	                "invalid_field", "template");
	session_refused("{\"entrypoint\": \"ls\", \"code\": \"x\"}", 400, "invalid_field", "code");
	session_refused("{}", 400, "missing_field", "runtime");
	session_refused("{\"entrypoint\": \"ls\", \"handler\": \"main.h\"}", 400, "invalid_field",
	                "handler");
	session_refused("{\"entrypoint\": \"ls\", \"limits\": {\"wall_time_ms\": 0}}", 400,
	                "invalid_field", "limits.wall_time_ms");
	/* POST /run itself still wants a runtime. */
	ck_assert_int_eq(req_parse_run("{\"entrypoint\": \"ls\"}", 20, &cfg, &reg, &job, &err), -1);
	ck_assert_str_eq(err.field, "runtime");
}
END_TEST

/* --- session creation (req_parse_session_stream) --- */

static int parse_create(const char *body, struct req_session *out)
{
	struct api_mem_src m = { body, strlen(body) };

	return req_parse_session_stream(api_mem_read, &m, &cfg, &reg, out, &err);
}

START_TEST(create_defaults_and_fields)
{
	struct req_session rs;

	ck_assert_int_eq(parse_create("{}", &rs), 0);
	ck_assert_str_eq(rs.tmpl->name, "minimal");
	ck_assert_uint_eq(rs.ttl_s, 3600);
	ck_assert_uint_eq(rs.idle_timeout_s, 600);
	ck_assert_uint_eq(rs.disk_mb, 50);
	ck_assert_uint_eq(json_object_size(json_object_get(rs.defaults, "limits")), 0);
	ck_assert_uint_eq(json_object_size(json_object_get(rs.defaults, "env")), 0);
	req_session_free(&rs);
	ck_assert_int_eq(parse_create("{\"template\":\"compilers\",\"ttl_s\":1,\"idle_timeout_s\":86400,"
	                              "\"disk_mb\":1024,\"limits\":{\"wall_time_ms\":500},"
	                              "\"env\":{\"A\":\"b\"}}", &rs), 0);
	ck_assert_str_eq(rs.tmpl->name, "compilers");
	ck_assert_uint_eq(rs.ttl_s, 1);
	ck_assert_uint_eq(rs.idle_timeout_s, 86400);
	ck_assert_uint_eq(rs.disk_mb, 1024);
	/* kept as given: the run applies them under its own request */
	ck_assert_int_eq(json_integer_value(json_object_get(json_object_get(rs.defaults, "limits"),
	                                                    "wall_time_ms")), 500);
	ck_assert_str_eq(json_string_value(json_object_get(json_object_get(rs.defaults, "env"), "A")),
	                 "b");
	ck_assert_uint_eq(json_object_size(json_object_get(rs.defaults, "env")), 1);
	req_session_free(&rs);
	req_session_free(&rs);   /* twice is harmless */
}
END_TEST

START_TEST(create_refusals)
{
	static const struct { const char *body; int status; const char *code, *field; } bad[] = {
		{ "{\"ttl_s\":0}", 400, "invalid_field", "ttl_s" },
		{ "{\"ttl_s\":86401}", 400, "invalid_field", "ttl_s" },
		{ "{\"ttl_s\":-5}", 400, "invalid_field", "ttl_s" },
		{ "{\"ttl_s\":\"1\"}", 400, "invalid_field", "ttl_s" },
		{ "{\"idle_timeout_s\":1.0}", 400, "invalid_field", "idle_timeout_s" },
		{ "{\"disk_mb\":1025}", 400, "invalid_field", "disk_mb" },
		{ "{\"disk_mb\":null}", 400, "invalid_field", "disk_mb" },
		{ "{\"template\":\"nope\"}", 400, "unknown_template", "template" },
		{ "{\"template\":\"minimal\\u0000\"}", 400, "unknown_template", "template" },
		{ "{\"template\":1}", 400, "invalid_field", "template" },
		{ "{\"limits\":[]}", 400, "invalid_field", "limits" },
		{ "{\"limits\":{\"wall_time_ms\":0}}", 400, "invalid_field", "limits.wall_time_ms" },
		{ "{\"limits\":{\"x\":1}}", 400, "unknown_field", "limits.x" },
		{ "{\"env\":{\"1A\":\"x\"}}", 400, "invalid_field", "env.1A" },
		{ "{\"env\":{\"A\":1}}", 400, "invalid_field", "env.A" },
		{ "{\"runtime\":\"python\"}", 400, "unknown_field", "runtime" },
		{ "[]", 400, "invalid_json", "" },
		{ "{\"ttl_s\":1,\"ttl_s\":2}", 400, "invalid_json", "" },
	};

	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		struct req_session rs;

		ck_assert_msg(parse_create(bad[i].body, &rs) == -1, "accepted: %s", bad[i].body);
		ck_assert_msg(err.http_status == bad[i].status && strcmp(err.code, bad[i].code) == 0 &&
		              strcmp(err.field, bad[i].field) == 0, "%s: %d %s '%s'", bad[i].body,
		              err.http_status, err.code, err.field);
		ck_assert_ptr_null(rs.defaults);
	}
	/* the operator's maximum is the range's */
	cfg.ses_disk_mb.max = 8;
	struct req_session rs;
	ck_assert_int_eq(parse_create("{\"disk_mb\":9}", &rs), -1);
	ck_assert_str_eq(err.field, "disk_mb");
}
END_TEST

Suite *req_suite(void)
{
	Suite *s = suite_create("request");
	TCase *tc = tcase_create("valid");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, minimal_defaults);
	tcase_add_test(tc, warm_frame_format);
	tcase_add_test(tc, warm_misfits_go_cold);
	tcase_add_test(tc, warm_spec_has_the_highest_limits);
	tcase_add_test(tc, warm_python_runs_the_byte_code_of_its_own_bootstrap);
	tcase_add_test(tc, warm_node_needs_the_shim_in_the_template);
	tcase_add_test(tc, explicit_limits_and_cpu_follows_wall);
	tcase_add_test(tc, files_entrypoint_args);
	tcase_add_test(tc, entrypoint_array);
	tcase_add_test(tc, env_user_overrides_defaults);
	tcase_add_test(tc, handler_mode);
	tcase_add_test(tc, handler_without_event);
	tcase_add_test(tc, stream_flag);
	tcase_add_test(tc, compile_steps);
	tcase_add_test(tc, spec_twice_is_stable);
	tcase_add_test(tc, unknown_runtime_lists);
	tcase_add_test(tc, failure_leaves_job_empty);
	tcase_add_test(tc, null_body);
	tcase_add_test(tc, error_json);
	tcase_add_test(tc, aliases_same_job);
	tcase_add_test(tc, timeout_rounding);
	tcase_add_test(tc, output_encoding_values);
	tcase_add_test(tc, compile_limits_lowered);
	tcase_add_test(tc, handler_context_env);
	tcase_add_test(tc, session_plain_command);
	tcase_add_test(tc, session_runtime_without_code);
	tcase_add_test(tc, session_defaults_under_request);
	tcase_add_test(tc, session_refusals);
	tcase_add_test(tc, create_defaults_and_fields);
	tcase_add_test(tc, create_refusals);
	suite_add_tcase(s, tc);
	return s;
}

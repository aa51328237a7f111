/*
 * check_bad.c - a table of bad requests, each with the answer it must get:
 * HTTP status, error code and the field named. Large bodies are built from
 * a repeated unit (printf'd with its index) so the table stays readable.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api_test.h"

struct bad_case {
	const char *name;
	const char *pre;          /* body, or its start when unit is set */
	const char *unit;         /* repeated `count` times; may use %zu (index) */
	size_t count;
	const char *sep;          /* between units */
	const char *post;
	int status;
	const char *code;
	const char *field;        /* NULL: not checked */
	void (*tweak)(struct req_config *);
	const char *msg;          /* substring of the message, or NULL */
};

#define R "{\"runtime\": \"python\", "
#define RC R "\"code\": \"1\", "
#define F(x) RC "\"files\": [" x "]}"
#define L(x) RC "\"limits\": {" x "}}"
#define E(x) RC "\"env\": {" x "}}"
#define CL(x) "{\"template\": \"compilers\", \"runtime\": \"c\", \"code\": \"1\", \"limits\": {" x "}}"
#define BAD(n, body, st, c, f) { n, body, NULL, 0, NULL, NULL, st, c, f, NULL, NULL }
#define BIG(n, pre, unit, cnt, sep, post, st, c, f) { n, pre, unit, cnt, sep, post, st, c, f, NULL, NULL }

static void small_total(struct req_config *c)
{
	c->max_files_total_bytes = 10;
}

static void ten_values(struct req_config *c)
{
	c->max_json_values = 10;
}

/* 1 MiB of string text: jansson's lexer copy and the string exceed 1 MiB. */
static void small_budget(struct req_config *c)
{
	c->max_json_parse_bytes = 1u << 20;
}

static const struct bad_case cases[] = {
	/* JSON itself */
	BAD("empty body", "", 400, "invalid_json", ""),
	BAD("truncated", "{\"runtime\": ", 400, "invalid_json", ""),
	BAD("array body", "[]", 400, "invalid_json", ""),
	BAD("scalar body", "42", 400, "invalid_json", ""),
	BAD("trailing garbage", RC "\"x\": 1} x", 400, "invalid_json", ""),
	BAD("duplicate key", "{\"runtime\": \"python\", \"runtime\": \"node\", \"code\": \"1\"}", 400, "invalid_json", ""),
	BAD("duplicate nested key", F("{\"path\": \"a\", \"path\": \"b\", \"content\": \"\"}"), 400, "invalid_json", ""),
	BAD("invalid utf-8", RC "\"stdin\": \"\xff\"}", 400, "invalid_json", ""),
	BAD("single quotes", "{'runtime': 'python'}", 400, "invalid_json", ""),
	{ "nesting 33 deep", RC "\"event\": [[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]}",
	  NULL, 0, NULL, NULL, 400, "invalid_json", "event", NULL, "nested deeper than 32" },
	BIG("nesting 5000 deep", RC "\"event\": ", "[", 5000, "", "}", 400, "invalid_json", "event"),
	BIG("body nested 5000 deep", "", "[", 5000, "", NULL, 400, "invalid_json", ""),
	/* Counted before jansson builds a tree (req_scan.c): the field named is
	 * the top-level member where the count ran over. */
	BIG("100001 values", RC "\"event\": [", "{}", 100000, ",", "]}", 413, "too_large", "event"),
	BIG("100001 values in one object", RC "\"env\": {", "\"K%zu\": 0", 50000, ",", "}}", 413, "too_large", "env"),
	BIG("values under an escaped key", RC "\"ev\\u0065nt\": [", "0", 100000, ",", "]}", 413, "too_large", ""),
	{ "values with a small cap", RC "\"args\": [\"a\", \"b\", \"c\", \"d\", \"e\", \"f\"]}", NULL, 0, NULL,
	  NULL, 413, "too_large", "args", ten_values, "more than 10 JSON values" },
	{ "parse budget", RC "\"stdin\": \"", "0123456789abcdef", 65536, "", "\"}", 413, "too_large", "stdin",
	  small_budget, "needs more than 1 MiB" },
	BIG("body over 24 MiB", RC "\"stdin\": \"", "aaaaaaaaaaaaaaaa", (24u << 20) / 16 + 1, "", "\"}", 413, "too_large", ""),
	/* runtime and template */
	BAD("missing runtime", "{\"code\": \"1\"}", 400, "missing_field", "runtime"),
	BAD("runtime not string", "{\"runtime\": 3, \"code\": \"1\"}", 400, "invalid_field", "runtime"),
	BAD("unknown runtime", "{\"runtime\": \"cobol\", \"code\": \"1\"}", 400, "unknown_runtime", "runtime"),
	BAD("unknown version", "{\"runtime\": \"python:2\", \"code\": \"1\"}", 400, "unknown_runtime", "runtime"),
	BAD("runtime with NUL", "{\"runtime\": \"python\\u0000x\", \"code\": \"1\"}", 400, "unknown_runtime", "runtime"),
	BIG("runtime cut inside a character", "{\"code\": \"1\", \"runtime\": \"x", "\xc3\xa9", 40, "", "\"}", 400, "unknown_runtime", "runtime"),
	BIG("env name cut inside a character", RC "\"env\": {\"A", "\xe2\x82\xac", 60, "", "\": \"\"}}", 400, "invalid_field", NULL),
	BAD("runtime of other template", "{\"runtime\": \"c\", \"code\": \"1\"}", 400, "unknown_runtime", "runtime"),
	BAD("template not string", RC "\"template\": []}", 400, "invalid_field", "template"),
	BAD("unknown template", RC "\"template\": \"gpu\"}", 400, "unknown_template", "template"),
	/* top level */
	BAD("no code nor files", R "\"stdin\": \"x\"}", 400, "missing_field", "code"),
	BAD("unknown field", RC "\"priority\": 5}", 400, "unknown_field", "priority"),
	BAD("misspelt field", R "\"cdoe\": \"1\"}", 400, "unknown_field", "cdoe"),
	BAD("key with NUL", RC "\"stdin\\u0000\": \"x\"}", 400, "invalid_json", ""),   /* jansson refuses */
	BAD("code not string", R "\"code\": [\"print(1)\"]}", 400, "invalid_field", "code"),
	BIG("code over 128 KiB", R "\"code\": \"", "a", (128u << 10) + 1, "", "\"}", 413, "too_large", "code"),
	BAD("stdin not string", RC "\"stdin\": 5}", 400, "invalid_field", "stdin"),
	BIG("stdin over 8 MiB", RC "\"stdin\": \"", "aaaaaaaaaaaaaaaa", (8u << 20) / 16 + 1, "", "\"}", 413, "too_large", "stdin"),
	/* files */
	BAD("files not array", RC "\"files\": {}}", 400, "invalid_field", "files"),
	BIG("33 files", RC "\"files\": [", "{\"path\": \"f%zu\", \"content\": \"\"}", 33, ",", "]}", 413, "too_large", "files"),
	BAD("file not object", F("\"a\""), 400, "invalid_field", "files[0]"),
	BAD("file unknown key", F("{\"path\": \"a\", \"content\": \"\", \"mode\": 511}"), 400, "unknown_field", "files[0].mode"),
	BAD("file path missing", F("{\"content\": \"\"}"), 400, "missing_field", "files[0].path"),
	BAD("file path number", F("{\"path\": 1, \"content\": \"\"}"), 400, "invalid_field", "files[0].path"),
	BAD("absolute path", F("{\"path\": \"/etc/passwd\", \"content\": \"\"}"), 400, "invalid_field", "files[0].path"),
	BAD("traversal", F("{\"path\": \"../x\", \"content\": \"\"}"), 400, "invalid_field", "files[0].path"),
	BAD("inner traversal", F("{\"path\": \"ok\", \"content\": \"\"}, {\"path\": \"a/../../b\", \"content\": \"\"}"), 400, "invalid_field", "files[1].path"),
	BAD("NUL in path", F("{\"path\": \"a\\u0000b\", \"content\": \"\"}"), 400, "invalid_field", "files[0].path"),
	BAD("newline in path", F("{\"path\": \"a\\nb\", \"content\": \"\"}"), 400, "invalid_field", "files[0].path"),
	BAD("escape in path", F("{\"path\": \"a\\u001b[2J\", \"content\": \"\"}"), 400, "invalid_field", "files[0].path"),
	BAD("empty path", F("{\"path\": \"\", \"content\": \"\"}"), 400, "invalid_field", "files[0].path"),
	BAD("dot component", F("{\"path\": \"./a\", \"content\": \"\"}"), 400, "invalid_field", "files[0].path"),
	BAD("empty component", F("{\"path\": \"a//b\", \"content\": \"\"}"), 400, "invalid_field", "files[0].path"),
	BIG("component 256 bytes", RC "\"files\": [{\"path\": \"", "x", 256, "", "\", \"content\": \"\"}]}", 400, "invalid_field", "files[0].path"),
	BIG("depth 17", RC "\"files\": [{\"path\": \"", "d", 17, "/", "\", \"content\": \"\"}]}", 400, "invalid_field", "files[0].path"),
	BAD("duplicate path", F("{\"path\": \"a\", \"content\": \"\"}, {\"path\": \"a\", \"content\": \"\"}"), 400, "invalid_field", "files[1].path"),
	BAD("file under a file", F("{\"path\": \"a\", \"content\": \"\"}, {\"path\": \"a/b\", \"content\": \"\"}"), 400, "invalid_field", "files[1].path"),
	BAD("code clashes with file", F("{\"path\": \"main.py\", \"content\": \"\"}"), 400, "invalid_field", "files[0].path"),
	BAD("content missing", F("{\"path\": \"a\"}"), 400, "missing_field", "files[0].content"),
	BAD("content number", F("{\"path\": \"a\", \"content\": 1}"), 400, "invalid_field", "files[0].content"),
	BAD("bad encoding", F("{\"path\": \"a\", \"content\": \"\", \"encoding\": \"hex\"}"), 400, "invalid_field", "files[0].encoding"),
	BAD("bad base64", F("{\"path\": \"a\", \"content\": \"abc\", \"encoding\": \"base64\"}"), 400, "invalid_field", "files[0].content"),
	BAD("base64 with newline", F("{\"path\": \"a\", \"content\": \"Zm9v\\n\", \"encoding\": \"base64\"}"), 400, "invalid_field", "files[0].content"),
	BAD("base64url alphabet", F("{\"path\": \"a\", \"content\": \"-_-_\", \"encoding\": \"base64\"}"), 400, "invalid_field", "files[0].content"),
	BAD("executable not bool", F("{\"path\": \"a\", \"content\": \"\", \"executable\": 1}"), 400, "invalid_field", "files[0].executable"),
	BIG("file over 2 MiB", RC "\"files\": [{\"path\": \"a\", \"content\": \"", "aaaaaaaaaaaaaaaa", (2u << 20) / 16, "", "x\"}]}", 413, "too_large", "files[0].content"),
	BIG("base64 file over 2 MiB", RC "\"files\": [{\"encoding\": \"base64\", \"path\": \"a\", \"content\": \"", "AAAA", (2u << 20) / 3 + 1, "", "\"}]}", 413, "too_large", "files[0].content"),
	{ "files over total", F("{\"path\": \"a\", \"content\": \"123456\"}, {\"path\": \"b\", \"content\": \"123456\"}"),
	  NULL, 0, NULL, NULL, 413, "too_large", "files", small_total, "in total" },
	/* command */
	BAD("entrypoint number", RC "\"entrypoint\": 1}", 400, "invalid_field", "entrypoint"),
	BAD("entrypoint unbalanced", RC "\"entrypoint\": \"python 'a\"}", 400, "invalid_field", "entrypoint"),
	BAD("entrypoint empty", RC "\"entrypoint\": \"  \"}", 400, "invalid_field", "entrypoint"),
	BAD("entrypoint empty array", RC "\"entrypoint\": []}", 400, "invalid_field", "entrypoint"),
	BAD("entrypoint empty program", RC "\"entrypoint\": [\"\"]}", 400, "invalid_field", "entrypoint"),
	BAD("entrypoint item number", RC "\"entrypoint\": [\"a\", 1]}", 400, "invalid_field", "entrypoint[1]"),
	BAD("entrypoint NUL", RC "\"entrypoint\": \"a\\u0000b\"}", 400, "invalid_field", "entrypoint"),
	BAD("args not array", RC "\"args\": \"-v\"}", 400, "invalid_field", "args"),
	BAD("args item number", RC "\"args\": [1]}", 400, "invalid_field", "args[0]"),
	BAD("args NUL", RC "\"args\": [\"a\\u0000\"]}", 400, "invalid_field", "args[0]"),
	BIG("257 args", RC "\"args\": [", "\"a\"", 257, ",", "]}", 413, "too_large", "args"),
	BIG("args over 64 KiB", RC "\"args\": [\"", "aaaaaaaaaaaaaaaa", 4096, "", "\"]}", 413, "too_large", "args"),
	/* env */
	BAD("env array", RC "\"env\": [\"A=1\"]}", 400, "invalid_field", "env"),
	BAD("env name digit", E("\"1A\": \"x\""), 400, "invalid_field", "env.1A"),
	BAD("env name with =", E("\"A=B\": \"x\""), 400, "invalid_field", "env.A=B"),
	BAD("env empty name", E("\"\": \"x\""), 400, "invalid_field", "env."),
	BAD("env name NUL", E("\"A\\u0000B\": \"x\""), 400, "invalid_json", ""),
	BAD("env value number", E("\"FOO\": 1"), 400, "invalid_field", "env.FOO"),
	BAD("env value null", E("\"FOO\": null"), 400, "invalid_field", "env.FOO"),
	BAD("env value NUL", E("\"FOO\": \"a\\u0000b\""), 400, "invalid_field", "env.FOO"),
	BIG("65 env vars", RC "\"env\": {", "\"V%zu\": \"\"", 65, ",", "}}", 413, "too_large", "env"),
	BIG("env over 32 KiB", RC "\"env\": {\"BIG\": \"", "aaaaaaaaaaaaaaaa", 2048, "", "\"}}", 413, "too_large", "env"),
	/* limits */
	BAD("limits not object", RC "\"limits\": 5}", 400, "invalid_field", "limits"),
	BAD("limits unknown", L("\"timeout\": 5"), 400, "unknown_field", "limits.timeout"),
	BAD("wall 0", L("\"wall_time_ms\": 0"), 400, "invalid_field", "limits.wall_time_ms"),
	BAD("wall over max", L("\"wall_time_ms\": 120001"), 400, "invalid_field", "limits.wall_time_ms"),
	BAD("wall negative", L("\"wall_time_ms\": -1"), 400, "invalid_field", "limits.wall_time_ms"),
	BAD("wall fraction", L("\"wall_time_ms\": 1.5"), 400, "invalid_field", "limits.wall_time_ms"),
	BAD("wall real", L("\"wall_time_ms\": 1000.0"), 400, "invalid_field", "limits.wall_time_ms"),
	BAD("wall exponent", L("\"wall_time_ms\": 1e3"), 400, "invalid_field", "limits.wall_time_ms"),
	BAD("wall string", L("\"wall_time_ms\": \"5\""), 400, "invalid_field", "limits.wall_time_ms"),
	BAD("wall bool", L("\"wall_time_ms\": true"), 400, "invalid_field", "limits.wall_time_ms"),
	BAD("wall null", L("\"wall_time_ms\": null"), 400, "invalid_field", "limits.wall_time_ms"),
	BAD("wall 2^64", L("\"wall_time_ms\": 18446744073709551616"), 400, "invalid_json", ""),
	BAD("wall 2^63-1", L("\"wall_time_ms\": 9223372036854775807"), 400, "invalid_field", "limits.wall_time_ms"),
	BAD("cpu over max", L("\"cpu_time_ms\": 120001"), 400, "invalid_field", "limits.cpu_time_ms"),
	BAD("memory under min", L("\"memory_mb\": 15"), 400, "invalid_field", "limits.memory_mb"),
	BAD("memory over max", L("\"memory_mb\": 4097"), 400, "invalid_field", "limits.memory_mb"),
	BAD("processes 0", L("\"max_processes\": 0"), 400, "invalid_field", "limits.max_processes"),
	BAD("processes over max", L("\"max_processes\": 1025"), 400, "invalid_field", "limits.max_processes"),
	BAD("output under min", L("\"max_output_bytes\": 1023"), 400, "invalid_field", "limits.max_output_bytes"),
	BAD("output over max", L("\"max_output_bytes\": 16777217"), 400, "invalid_field", "limits.max_output_bytes"),
	/* handler mode */
	BAD("handler on bash", "{\"runtime\": \"bash\", \"code\": \"1\", \"handler\": \"main.h\"}", 400, "invalid_field", "handler"),
	BAD("event on bash", "{\"runtime\": \"bash\", \"code\": \"1\", \"event\": {}}", 400, "invalid_field", "event"),
	BAD("handler no dot", RC "\"handler\": \"main\"}", 400, "invalid_field", "handler"),
	BAD("handler traversal", RC "\"handler\": \"../x.h\"}", 400, "invalid_field", "handler"),
	BAD("handler absolute", RC "\"handler\": \"/x.h\"}", 400, "invalid_field", "handler"),
	BAD("handler dot module", RC "\"handler\": \"..h\"}", 400, "invalid_field", "handler"),
	BAD("handler bad function", RC "\"handler\": \"main.1x\"}", 400, "invalid_field", "handler"),
	BAD("handler injection", RC "\"handler\": \"main.h;import os\"}", 400, "invalid_field", "handler"),
	BAD("handler not string", RC "\"handler\": {}}", 400, "invalid_field", "handler"),
	BAD("event with entrypoint", RC "\"event\": 1, \"entrypoint\": \"python x\"}", 400, "invalid_field", "entrypoint"),
	BAD("event with args", RC "\"event\": 1, \"args\": []}", 400, "invalid_field", "args"),
	BIG("event over 1 MiB", RC "\"event\": \"", "aaaaaaaaaaaaaaaa", (1u << 20) / 16, "", "\"}", 413, "too_large", "event"),
	/* stream (live output) */
	BAD("stream string", RC "\"stream\": \"yes\"}", 400, "invalid_field", "stream"),
	BAD("stream number", RC "\"stream\": 1}", 400, "invalid_field", "stream"),
	BAD("stream null", RC "\"stream\": null}", 400, "invalid_field", "stream"),
	BAD("stream object", RC "\"stream\": {}}", 400, "invalid_field", "stream"),
	/* compatibility fields and aliases (req_compat.c, docs/MIGRATING.md):
	 * an error names the name the client wrote */
	BAD("language and runtime", "{\"runtime\": \"python\", \"language\": \"python\", \"code\": \"1\"}", 400, "invalid_field", "language"),
	BAD("language not string", "{\"language\": 3, \"code\": \"1\"}", 400, "invalid_field", "language"),
	BAD("language unknown", "{\"language\": \"cobol\", \"code\": \"1\"}", 400, "unknown_runtime", "language"),
	BAD("env_vars and env", RC "\"env\": {}, \"env_vars\": {}}", 400, "invalid_field", "env_vars"),
	BAD("env_vars not object", RC "\"env_vars\": []}", 400, "invalid_field", "env_vars"),
	BAD("env_vars bad name", RC "\"env_vars\": {\"1A\": \"x\"}}", 400, "invalid_field", "env_vars.1A"),
	BAD("env_vars value", RC "\"env_vars\": {\"A\": 1}}", 400, "invalid_field", "env_vars.A"),
	BIG("env_vars 65", RC "\"env_vars\": {", "\"V%zu\": \"\"", 65, ",", "}}", 413, "too_large", "env_vars"),
	BAD("input_files and files", RC "\"files\": [], \"input_files\": []}", 400, "invalid_field", "input_files"),
	BAD("input_files not array", RC "\"input_files\": {}}", 400, "invalid_field", "input_files"),
	BAD("input_files traversal", RC "\"input_files\": [{\"path\": \"../a\", \"content\": \"\"}]}", 400, "invalid_field", "input_files[0].path"),
	BAD("input_files unknown key", RC "\"input_files\": [{\"path\": \"a\", \"content\": \"\", \"mode\": 1}]}", 400, "unknown_field", "input_files[0].mode"),
	BAD("input_files bad base64", RC "\"input_files\": [{\"path\": \"a\", \"content\": \"@@\", \"encoding\": \"base64\"}]}", 400, "invalid_field", "input_files[0].content"),
	BAD("input_files clash with code", RC "\"input_files\": [{\"path\": \"main.py\", \"content\": \"\"}]}", 400, "invalid_field", "input_files[0].path"),
	{ "timeout_s and wall_time_ms", RC "\"limits\": {\"wall_time_ms\": 1000}, \"timeout_s\": 1}", NULL, 0, NULL,
	  NULL, 400, "invalid_field", "timeout_s", NULL, "limits.wall_time_ms and timeout_s are the same field" },
	{ "language message", "{\"language\": 3, \"code\": \"1\"}", NULL, 0, NULL, NULL, 400, "invalid_field",
	  "language", NULL, "language must be a string" },
	{ "input_files message", RC "\"input_files\": [{\"path\": \"/a\", \"content\": \"\"}]}", NULL, 0, NULL, NULL,
	  400, "invalid_field", "input_files[0].path", NULL, "input_files[0].path: absolute" },
	BAD("timeout and timeout_s", RC "\"timeout_s\": 1, \"timeout\": 1}", 400, "invalid_field", "timeout"),
	BAD("timeout_s zero", RC "\"timeout_s\": 0}", 400, "invalid_field", "timeout_s"),
	BAD("timeout_s rounds to 0 ms", RC "\"timeout_s\": 0.0004}", 400, "invalid_field", "timeout_s"),
	BAD("timeout_s negative", RC "\"timeout_s\": -1}", 400, "invalid_field", "timeout_s"),
	BAD("timeout_s over max", RC "\"timeout_s\": 120.001}", 400, "invalid_field", "timeout_s"),
	BAD("timeout over max", RC "\"timeout\": 300}", 400, "invalid_field", "timeout"),
	BAD("timeout huge", RC "\"timeout\": 1e300}", 400, "invalid_field", "timeout"),
	BAD("timeout string", RC "\"timeout\": \"5\"}", 400, "invalid_field", "timeout"),
	BAD("timeout_s bool", RC "\"timeout_s\": true}", 400, "invalid_field", "timeout_s"),
	BAD("timeout_s null", RC "\"timeout_s\": null}", 400, "invalid_field", "timeout_s"),
	BAD("timeout with limits not object", RC "\"timeout\": 1, \"limits\": 5}", 400, "invalid_field", "limits"),
	BAD("job_id and execution_id", RC "\"job_id\": \"a\", \"execution_id\": \"a\"}", 400, "invalid_field", "execution_id"),
	BAD("job_id empty", RC "\"job_id\": \"\"}", 400, "invalid_field", "job_id"),
	BAD("job_id number", RC "\"job_id\": 7}", 400, "invalid_field", "job_id"),
	BAD("job_id space", RC "\"job_id\": \"a b\"}", 400, "invalid_field", "job_id"),
	BAD("job_id newline", RC "\"job_id\": \"a\\nb\"}", 400, "invalid_field", "job_id"),
	BAD("job_id NUL", RC "\"job_id\": \"a\\u0000b\"}", 400, "invalid_field", "job_id"),
	BAD("job_id non-ascii", RC "\"job_id\": \"\\u00e9\"}", 400, "invalid_field", "job_id"),
	BIG("job_id 129", RC "\"job_id\": \"", "a", 129, "", "\"}", 400, "invalid_field", "job_id"),
	BAD("execution_id slash", RC "\"execution_id\": \"a/b\"}", 400, "invalid_field", "execution_id"),
	BAD("output_encoding other", RC "\"output_encoding\": \"hex\"}", 400, "invalid_field", "output_encoding"),
	BAD("output_encoding case", RC "\"output_encoding\": \"BASE64\"}", 400, "invalid_field", "output_encoding"),
	BAD("output_encoding number", RC "\"output_encoding\": 64}", 400, "invalid_field", "output_encoding"),
	BAD("output_encoding null", RC "\"output_encoding\": null}", 400, "invalid_field", "output_encoding"),
	/* compile limits: only runtimes with a compile step, only lower */
	BAD("compile wall on python", L("\"compile_wall_time_ms\": 1000"), 400, "invalid_field", "limits.compile_wall_time_ms"),
	BAD("compile memory on python", L("\"compile_memory_mb\": 64"), 400, "invalid_field", "limits.compile_memory_mb"),
	BAD("compile wall 0", CL("\"compile_wall_time_ms\": 0"), 400, "invalid_field", "limits.compile_wall_time_ms"),
	BAD("compile wall over runtime's", CL("\"compile_wall_time_ms\": 30001"), 400, "invalid_field", "limits.compile_wall_time_ms"),
	BAD("compile wall float", CL("\"compile_wall_time_ms\": 1.5"), 400, "invalid_field", "limits.compile_wall_time_ms"),
	BAD("compile wall string", CL("\"compile_wall_time_ms\": \"5\""), 400, "invalid_field", "limits.compile_wall_time_ms"),
	BAD("compile memory under min", CL("\"compile_memory_mb\": 15"), 400, "invalid_field", "limits.compile_memory_mb"),
	BAD("compile memory over runtime's", CL("\"compile_memory_mb\": 513"), 400, "invalid_field", "limits.compile_memory_mb"),
	BAD("compile memory negative", CL("\"compile_memory_mb\": -1"), 400, "invalid_field", "limits.compile_memory_mb"),
	BAD("compile typo", CL("\"compile_wall_ms\": 5"), 400, "unknown_field", "limits.compile_wall_ms"),
	/* outputs */
	BAD("outputs not array", RC "\"outputs\": \"*\"}", 400, "invalid_field", "outputs"),
	BAD("outputs item number", RC "\"outputs\": [1]}", 400, "invalid_field", "outputs[0]"),
	BAD("outputs traversal", RC "\"outputs\": [\"*.txt\", \"../*\"]}", 400, "invalid_field", "outputs[1]"),
	BAD("outputs absolute", RC "\"outputs\": [\"/etc/*\"]}", 400, "invalid_field", "outputs[0]"),
	BAD("outputs NUL", RC "\"outputs\": [\"a\\u0000\"]}", 400, "invalid_field", "outputs[0]"),
	BIG("33 outputs", RC "\"outputs\": [", "\"o%zu\"", 33, ",", "]}", 413, "too_large", "outputs"),
};

static char dir[64];
static struct rt_registry reg;

static void setup(void)
{
	snprintf(dir, sizeof dir, "/tmp/check-api-XXXXXX");
	fixture_make(dir, &reg);
}

static void teardown(void)
{
	rt_registry_free(&reg);
	fixture_remove(dir);
}

/* unit with its "%zu" (if any) replaced by i. */
static size_t unit_put(char *b, size_t cap, const char *unit, size_t i)
{
	const char *p = strstr(unit, "%zu");
	if (!p)
		return (size_t)snprintf(b, cap, "%s", unit);
	return (size_t)snprintf(b, cap, "%.*s%zu%s", (int)(p - unit), unit, i, p + 3);
}

static char *build_body(const struct bad_case *c, size_t *len)
{
	size_t cap = strlen(c->pre) + strlen(c->post ? c->post : "") + 1, n;
	if (c->unit)
		cap += c->count * (strlen(c->unit) + 24 + strlen(c->sep));
	char *b = malloc(cap);
	ck_assert_ptr_nonnull(b);
	n = (size_t)snprintf(b, cap, "%s", c->pre);
	for (size_t i = 0; c->unit && i < c->count; i++) {
		if (i)
			n += (size_t)snprintf(b + n, cap - n, "%s", c->sep);
		n += unit_put(b + n, cap - n, c->unit, i);
	}
	if (c->post)
		n += (size_t)snprintf(b + n, cap - n, "%s", c->post);
	*len = n;
	return b;
}

START_TEST(bad_request)
{
	const struct bad_case *c = &cases[_i];
	struct req_config cfg;
	struct req_job job;
	struct req_error err;
	size_t len;
	char *body = build_body(c, &len);

	req_config_defaults(&cfg);
	if (c->tweak)
		c->tweak(&cfg);
	int rc = req_parse_run(body, len, &cfg, &reg, &job, &err);
	ck_assert_msg(rc == -1, "%s: accepted", c->name);
	ck_assert_msg(err.http_status == c->status && strcmp(err.code, c->code) == 0 &&
	              (!c->field || strcmp(err.field, c->field) == 0),
	              "%s: got %d %s field '%s' (%s), want %d %s field '%s'", c->name,
	              err.http_status, err.code, err.field, err.message, c->status, c->code,
	              c->field ? c->field : "*");
	ck_assert_msg(err.message[0], "%s: empty message", c->name);
	ck_assert_msg(!c->msg || strstr(err.message, c->msg), "%s: message '%s' lacks '%s'",
	              c->name, err.message, c->msg);
	/* Message and field quote request data cut to fit: still valid UTF-8
	 * (json_string refuses anything else). */
	json_t *m = json_string(err.message), *f = json_string(err.field);
	ck_assert_msg(m && f, "%s: message or field is not valid UTF-8", c->name);
	json_decref(m);
	json_decref(f);
	ck_assert_ptr_null(job.argv);
	free(body);
}
END_TEST

Suite *bad_suite(void)
{
	Suite *s = suite_create("bad requests");
	TCase *tc = tcase_create("table");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 30);
	tcase_add_loop_test(tc, bad_request, 0, (int)(sizeof cases / sizeof *cases));
	suite_add_tcase(s, tc);
	return s;
}

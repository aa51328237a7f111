/*
 * rt_load.c - one template version read from disk: runtimes.json and
 * manifest.json. The files are produced by scripts/build-rootfs.sh (the
 * RootFS recipe); they are operator data, but a mistake in them must give
 * a message naming the file and key, never a crash.
 *
 * runtimes.json schema (unknown keys are ignored, so the recipe may carry
 * extra data for verify-rootfs.sh, e.g. a list of imports to test):
 *   {"template": "minimal",                  optional; must equal the dir name
 *    "runtimes": [                            required, non-empty array
 *      {"name": "python",                     required, [a-z0-9][a-z0-9._+-]*
 *       "aliases": ["python3", "py"],         optional, same syntax
 *       "version": "3.11.2",                  required, non-empty
 *       "file": "main.py",                    required, relative path for `code`
 *       "run": ["python3", "{file}"],         required argv (1..32 strings)
 *       "handler": ["python3", "/opt/sandbox/shims/handler.py",
 *                   "{handler}", "{event}", "{result}"],   optional argv
 *       "limits": {"memory_mb": 512},         optional defaults for this runtime
 *       "compile": {"argv": ["gcc", "-O2", "-o", "main", "{file}", "-lm"],
 *                   "limits": {"wall_time_ms": 30000, "memory_mb": 512}}}
 *    ]}                                       compile: optional, argv required
 *   "limits" keys: wall_time_ms, cpu_time_ms, memory_mb, max_processes,
 *   max_output_bytes; positive integers (a misspelt key is an error, since
 *   it would silently not limit anything).
 * manifest.json: {"hash": "sha256:...", ...}; only "hash" is read; a
 * missing manifest gives "".
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "api/rt_private.h"
#include "common/json_util.h"
#include "common/path.h"
#include "common/strv.h"

/* "<a>/<b>" into buf; -1 if it does not fit. buf must not alias a or b. */
static int rt_path(char *buf, size_t size, const char *a, const char *b)
{
	int n = snprintf(buf, size, "%s/%s", a, b);
	return n < 0 || (size_t)n >= size ? -1 : 0;
}

char *rt_readlink(const char *path)
{
	char buf[4096];
	struct stat st;
	ssize_t n = readlink(path, buf, sizeof buf - 1);

	if (n < 0 && errno == EINVAL && stat(path, &st) == 0 && S_ISDIR(st.st_mode))
		return strdup("");
	if (n < 0)
		return NULL;
	buf[n] = '\0';
	return strdup(buf);
}

struct rt_ctx {
	const char *file;   /* for messages */
	char *msg;
	size_t msglen;
};

static int rt_fail(const struct rt_ctx *c, const char *key, const char *what)
{
	snprintf(c->msg, c->msglen, "%s: %s: %s", c->file, key, what);
	return -1;
}

static bool rt_name_ok(const char *s)
{
	if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9')))
		return false;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || strchr("._+-", *s)))
			return false;
	return true;
}

static int rt_string(const struct rt_ctx *c, json_t *obj, const char *key, const char *where,
                     char **out)
{
	char k[96];
	json_t *v = json_object_get(obj, key);
	snprintf(k, sizeof k, "%s.%s", where, key);
	if (!v)
		return rt_fail(c, k, "is required");
	if (!json_is_string(v) || !json_string_length(v) ||
	    strlen(json_string_value(v)) != json_string_length(v))
		return rt_fail(c, k, "must be a non-empty string");
	return (*out = strdup(json_string_value(v))) ? 0 : rt_fail(c, k, "out of memory");
}

/* An array of strings; max 0 allows an empty array. */
static int rt_strv(const struct rt_ctx *c, json_t *v, const char *k, size_t min, char ***out)
{
	size_t i;
	json_t *s;

	if (!json_is_array(v) || json_array_size(v) < min || json_array_size(v) > RT_MAX_ARGV)
		return rt_fail(c, k, min ? "must be an array of 1 to 32 strings" :
		                        "must be an array of at most 32 strings");
	if (!(*out = strv_new(json_array_size(v))))
		return rt_fail(c, k, "out of memory");
	json_array_foreach(v, i, s) {
		if (!json_is_string(s) || strlen(json_string_value(s)) != json_string_length(s))
			return rt_fail(c, k, "must contain only strings");
		if (!((*out)[i] = strdup(json_string_value(s))))
			return rt_fail(c, k, "out of memory");
	}
	return 0;
}

static int rt_limits(const struct rt_ctx *c, json_t *v, const char *k, struct rt_limits_override *o)
{
	static const char *const names[] = { "wall_time_ms", "cpu_time_ms", "memory_mb",
	                                     "max_processes", "max_output_bytes", NULL };
	uint64_t *slots[] = { &o->wall_time_ms, &o->cpu_time_ms, &o->memory_mb,
	                      &o->max_processes, &o->max_output_bytes };
	const char *key;
	json_t *x;
	char kk[128];

	if (!json_is_object(v))
		return rt_fail(c, k, "must be an object");
	if ((key = json_unknown_key(v, names))) {
		snprintf(kk, sizeof kk, "%s.%s", k, key);
		return rt_fail(c, kk, "unknown limit");
	}
	json_object_foreach(v, key, x) {
		size_t i = 0;
		while (strcmp(key, names[i]))
			i++;   /* known: json_unknown_key found none other */
		snprintf(kk, sizeof kk, "%s.%s", k, key);
		if (!json_is_integer(x) || json_integer_value(x) <= 0 ||
		    json_integer_value(x) > (json_int_t)UINT32_MAX)
			return rt_fail(c, kk, "must be a positive integer below 2^32");
		*slots[i] = (uint64_t)json_integer_value(x);
	}
	return 0;
}

static int rt_compile(const struct rt_ctx *c, json_t *v, const char *where, struct rt_runtime *r)
{
	char k[96];
	json_t *x;
	snprintf(k, sizeof k, "%s.compile", where);
	if (!json_is_object(v))
		return rt_fail(c, k, "must be an object with \"argv\"");
	snprintf(k, sizeof k, "%s.compile.argv", where);
	if (!(x = json_object_get(v, "argv")))
		return rt_fail(c, k, "is required");
	if (rt_strv(c, x, k, 1, &r->compile_argv))
		return -1;
	snprintf(k, sizeof k, "%s.compile.limits", where);
	x = json_object_get(v, "limits");
	return x ? rt_limits(c, x, k, &r->compile_limits) : 0;
}

static int rt_optional(const struct rt_ctx *c, json_t *o, const char *where, struct rt_runtime *r)
{
	char k[96];
	json_t *v;

	snprintf(k, sizeof k, "%s.aliases", where);
	if ((v = json_object_get(o, "aliases")) ? rt_strv(c, v, k, 0, &r->aliases) :
	    !(r->aliases = strv_new(0)))
		return -1;
	for (size_t i = 0; r->aliases[i]; i++)
		if (!rt_name_ok(r->aliases[i]))
			return rt_fail(c, k, "aliases must match [a-z0-9][a-z0-9._+-]*");
	snprintf(k, sizeof k, "%s.handler", where);
	if ((v = json_object_get(o, "handler")) && rt_strv(c, v, k, 1, &r->handler_argv))
		return -1;
	snprintf(k, sizeof k, "%s.limits", where);
	if ((v = json_object_get(o, "limits")) && rt_limits(c, v, k, &r->limits))
		return -1;
	if ((v = json_object_get(o, "compile")) && rt_compile(c, v, where, r))
		return -1;
	return 0;
}

static int rt_runtime_parse(const struct rt_ctx *c, json_t *o, size_t idx, struct rt_runtime *r)
{
	char where[48], k[96];
	json_t *v;

	snprintf(where, sizeof where, "runtimes[%zu]", idx);
	if (!json_is_object(o))
		return rt_fail(c, where, "must be an object");
	if (rt_string(c, o, "name", where, &r->name) || rt_string(c, o, "version", where, &r->version) ||
	    rt_string(c, o, "file", where, &r->file))
		return -1;
	snprintf(k, sizeof k, "%s.name", where);
	if (!rt_name_ok(r->name))
		return rt_fail(c, k, "must match [a-z0-9][a-z0-9._+-]*");
	snprintf(k, sizeof k, "%s.file", where);
	if (path_check(r->file, strlen(r->file), PATH_DEFAULT_MAX_DEPTH))
		return rt_fail(c, k, "must be a relative path without '.', '..' or empty components");
	snprintf(k, sizeof k, "%s.run", where);
	if (!(v = json_object_get(o, "run")))
		return rt_fail(c, k, "is required");
	if (rt_strv(c, v, k, 1, &r->run_argv))
		return -1;
	return rt_optional(c, o, where, r);
}

static int rt_doc_parse(const struct rt_ctx *c, json_t *doc, struct rt_template *t)
{
	json_t *v = json_object_get(doc, "template"), *rts = json_object_get(doc, "runtimes"), *o;
	size_t i;

	if (!json_is_object(doc))
		return rt_fail(c, "(top)", "must be an object");
	if (v && (!json_is_string(v) || strcmp(json_string_value(v), t->name)))
		return rt_fail(c, "template", "must be a string equal to the template's directory name");
	if (!json_is_array(rts) || !json_array_size(rts))
		return rt_fail(c, "runtimes", "must be a non-empty array");
	if (!(t->runtimes = calloc(json_array_size(rts), sizeof *t->runtimes)))
		return rt_fail(c, "runtimes", "out of memory");
	json_array_foreach(rts, i, o) {
		t->nruntimes = i + 1;   /* owned from here, even if half-filled */
		if (rt_runtime_parse(c, o, i, &t->runtimes[i]))
			return -1;
	}
	return 0;
}

/* Opens with O_CLOEXEC (a jail child must never inherit it) and parses. */
static json_t *rt_load_json(const char *path, bool *missing, char *msg, size_t msglen)
{
	json_error_t je;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	json_t *doc;

	*missing = fd < 0 && errno == ENOENT;
	if (fd < 0) {
		snprintf(msg, msglen, "%s: cannot open: %s", path, strerror(errno));
		return NULL;
	}
	doc = json_loadfd(fd, JSON_REJECT_DUPLICATES, &je);
	close(fd);
	if (!doc)
		snprintf(msg, msglen, "%s: invalid JSON at line %d, column %d: %s", path,
		         je.line, je.column, je.text);
	return doc;
}

static int rt_manifest(struct rt_template *t, char *msg, size_t msglen)
{
	char path[PATH_MAX];
	bool missing;
	json_t *doc, *h;

	if (rt_path(path, sizeof path, t->version_dir, "manifest.json"))
		return snprintf(msg, msglen, "%s: path too long", t->version_dir), -1;
	if (!(doc = rt_load_json(path, &missing, msg, msglen)))
		return missing ? ((t->manifest_hash = strdup("")) ? 0 : -1) : -1;
	h = json_object_get(doc, "hash");
	if (h && !json_is_string(h)) {
		json_decref(doc);
		return snprintf(msg, msglen, "%s: hash: must be a string", path), -1;
	}
	t->manifest_hash = strdup(h ? json_string_value(h) : "");
	json_decref(doc);
	return t->manifest_hash ? 0 : -1;
}

int rt_template_load(const char *base, const char *name, struct rt_template *t,
                     char *msg, size_t msglen)
{
	char cur[PATH_MAX], path[PATH_MAX], real[PATH_MAX];
	bool missing;
	json_t *doc;

	memset(t, 0, sizeof *t);
	if (!(t->name = strdup(name)) || rt_path(path, sizeof path, base, name) ||
	    rt_path(cur, sizeof cur, path, "current"))
		return snprintf(msg, msglen, "%s/%s: path too long or out of memory", base, name), -1;
	if (!(t->link_target = rt_readlink(cur)))
		return snprintf(msg, msglen, "%s: %s", cur, strerror(errno)), -1;
	/* Resolved once: runs of this version keep using it after `current`
	 * is switched, until the next refresh. */
	if (!realpath(cur, real))
		return snprintf(msg, msglen, "%s: %s", cur, strerror(errno)), -1;
	if (!(t->version_dir = strdup(real)) || rt_path(path, sizeof path, real, "tree") ||
	    !(t->tree = strdup(path)) || rt_path(path, sizeof path, real, "runtimes.json"))
		return snprintf(msg, msglen, "%s: path too long or out of memory", real), -1;
	if (!(doc = rt_load_json(path, &missing, msg, msglen)))
		return -1;
	struct rt_ctx c = { path, msg, msglen };
	int rc = rt_doc_parse(&c, doc, t);
	json_decref(doc);
	return rc ? rc : rt_manifest(t, msg, msglen);
}

static void rt_runtime_free(struct rt_runtime *r)
{
	free(r->name);
	strv_free(r->aliases);
	free(r->version);
	free(r->file);
	strv_free(r->run_argv);
	strv_free(r->handler_argv);
	strv_free(r->compile_argv);
}

void rt_template_free(struct rt_template *t)
{
	for (size_t i = 0; i < t->nruntimes; i++)
		rt_runtime_free(&t->runtimes[i]);
	free(t->runtimes);
	free(t->name);
	free(t->version_dir);
	free(t->tree);
	free(t->manifest_hash);
	free(t->link_target);
	memset(t, 0, sizeof *t);
}

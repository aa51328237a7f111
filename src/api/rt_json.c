/*
 * rt_json.c - the registry as JSON for GET /api/sandbox/runtimes and /info:
 *   {"templates": [{"name", "version", "manifest_hash",
 *                   "runtimes": [{"name", "aliases", "version", "file",
 *                                 "handler", "compile", "limits"}]}]}
 */
#include <string.h>

#include "api/rt.h"

static json_t *strv_json(char *const *v)
{
	json_t *a = json_array();
	for (size_t i = 0; a && v && v[i]; i++)
		json_array_append_new(a, json_string(v[i]));
	return a;
}

static json_t *limits_json(const struct rt_limits_override *o)
{
	json_t *l = json_object();
	if (o->wall_time_ms)
		json_object_set_new(l, "wall_time_ms", json_integer((json_int_t)o->wall_time_ms));
	if (o->cpu_time_ms)
		json_object_set_new(l, "cpu_time_ms", json_integer((json_int_t)o->cpu_time_ms));
	if (o->memory_mb)
		json_object_set_new(l, "memory_mb", json_integer((json_int_t)o->memory_mb));
	if (o->max_processes)
		json_object_set_new(l, "max_processes", json_integer((json_int_t)o->max_processes));
	if (o->max_output_bytes)
		json_object_set_new(l, "max_output_bytes", json_integer((json_int_t)o->max_output_bytes));
	return l;
}

static json_t *runtime_json(const struct rt_runtime *r)
{
	return json_pack("{s:s, s:o, s:s, s:s, s:b, s:b, s:o}",
	                 "name", r->name, "aliases", strv_json(r->aliases), "version", r->version,
	                 "file", r->file, "handler", r->handler_argv != NULL,
	                 "compile", r->compile_argv != NULL, "limits", limits_json(&r->limits));
}

static json_t *template_json(const struct rt_template *t)
{
	const char *slash = strrchr(t->version_dir, '/');
	json_t *rts = json_array();
	for (size_t i = 0; rts && i < t->nruntimes; i++)
		json_array_append_new(rts, runtime_json(&t->runtimes[i]));
	return json_pack("{s:s, s:s, s:s, s:o}", "name", t->name,
	                 "version", slash ? slash + 1 : t->version_dir,
	                 "manifest_hash", t->manifest_hash ? t->manifest_hash : "", "runtimes", rts);
}

json_t *rt_registry_json(const struct rt_registry *reg)
{
	json_t *ts = json_array();
	for (size_t i = 0; ts && i < reg->ntemplates; i++)
		json_array_append_new(ts, template_json(&reg->templates[i]));
	return json_pack("{s:o}", "templates", ts);
}

/*
 * rt.h - runtimes as data: the registry of templates and their runtimes,
 * loaded from each template's runtimes.json (see rootfs/README.md).
 *
 * Layout under the RootFS directory (default /var/lib/sandbox-fcgi/rootfs):
 *   <template>/current -> <version>/          switched atomically by build-rootfs.sh
 *   <template>/<version>/manifest.json
 *   <template>/<version>/runtimes.json
 *   <template>/<version>/tree/                the root filesystem the jail mounts
 */
#ifndef SANDBOX_API_RT_H
#define SANDBOX_API_RT_H

#include <stddef.h>
#include <stdint.h>
#include <jansson.h>

#include "jail/jail.h"

#define RT_MAX_ARGV 32

struct rt_limits_override {          /* 0 = not overridden */
	uint64_t wall_time_ms, cpu_time_ms, memory_mb, max_processes, max_output_bytes;
};

struct rt_runtime {
	char *name;                      /* "python" */
	char **aliases;                  /* NULL-terminated: "python3", "py" */
	char *version;                   /* detected at build time: "3.11.2" */
	char *file;                      /* main file for `code`: "main.py" */
	char **run_argv;                 /* NULL-terminated; "{file}" is replaced */
	char **handler_argv;             /* NULL if no handler mode; "{handler}", "{event}", "{result}" */
	char **compile_argv;             /* NULL if interpreted; "{file}" */
	struct rt_limits_override compile_limits;
	struct rt_limits_override limits;
};

struct rt_template {
	char *name;                      /* "minimal" */
	char *version_dir;               /* resolved <template>/<version> */
	char *tree;                      /* <version_dir>/tree */
	char *manifest_hash;             /* from manifest.json, "" if absent */
	char *link_target;               /* readlink of <template>/current at load,
	                                  * "" if current is a plain directory */
	struct rt_runtime *runtimes;
	size_t nruntimes;
};

struct rt_registry {
	char *base;                      /* the RootFS directory */
	struct rt_template *templates;
	size_t ntemplates;
};

/* Loads every <base>/<template>/current. Returns 0, or -1 with a message
 * naming the file and key at fault (also when no template exists). */
int rt_registry_load(const char *base, struct rt_registry *out, char *msg, size_t msglen);
/* Rescans base: reloads templates whose `current` link changed since the
 * last load, adds new ones, drops those whose `current` is gone. A template
 * whose new version is malformed keeps its old one (and -1 + msg is
 * returned). Pointers into the registry (a job's tmpl and runtime) are
 * invalid afterwards: call it between requests only. */
int rt_registry_refresh(struct rt_registry *reg, char *msg, size_t msglen);
void rt_registry_free(struct rt_registry *reg);

const struct rt_template *rt_find_template(const struct rt_registry *reg, const char *name);
/* "python", "python:3", "python:3.11" -> runtime, or NULL. */
const struct rt_runtime *rt_find_runtime(const struct rt_template *t, const char *spec);
/* JSON listing for /runtimes and /info and for 400 messages. */
json_t *rt_registry_json(const struct rt_registry *reg);

#endif

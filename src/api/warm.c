/*
 * warm.c - which requests a warm interpreter may serve, and the job it is
 * handed (docs/SECURITY.md, "Warm interpreters").  Pure code.
 *
 * The node bootstrap is rootfs/common/overlay/opt/sandbox/shims/warm.js
 * (the same frame; node runs the main module itself).
 *
 * The Python bootstrap is rootfs/common/overlay/opt/sandbox/shims/warm.py
 * (built in as req_warm_python_boot, src/api/module.mk).  It runs in a
 * jail made exactly as for a run, started while the responder is idle:
 * `python3 /opt/sandbox/shims/warm-HASH.pyc`, the byte code the RootFS
 * build compiled from the same text (HASH: the first 16 hex digits of its
 * SHA-256, so a template built from another bootstrap is never used with
 * this one), or `python3 -c BOOT` where the template has no such file.
 * Compiling BOOT cost every warm interpreter about 1.7 ms of CPU and 60
 * page faults here (docs/PERFORMANCE.md), all of it paid again per run
 * when the service is saturated.  It imports nothing (sys and os are
 * loaded by every start-up: a cold `python3 main.py` has the same
 * sys.modules), reads one frame from stdin
 * ("LEN\n" then LEN bytes: argc, argv..., envc, env..., each ending in a
 * NUL byte), and makes the program's world that of a cold run: the
 * environment (os.environ and the C environ, in order), sys.argv and
 * sys.orig_argv, sys.path[0] (the script's directory), a fresh __main__
 * module with the attributes of a script run, in their order, the script
 * compiled from its bytes (coding cookies) with its absolute name, the
 * streams flushed where CPython flushes them, uncaught exceptions shown
 * by sys.excepthook without the bootstrap's frame and exit status 1,
 * KeyboardInterrupt ending by SIGINT after the atexit handlers.  The rest
 * of stdin is the program's.  Known differences: the call stack has one
 * more frame below the program's (sys._getframe, the recursion depth
 * reached before RecursionError).
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "api/req_private.h"
#include "api/warm.h"
#include "common/sha256.h"
#include "common/strv.h"

/* The node bootstrap is a file of the RootFS (rootfs/common/overlay):
 * node loads it with -r after its own start-up, before the main module. */
#define WARM_NODE_SHIM "/opt/sandbox/shims/warm.js"
#define WARM_SHIM_DIR "/opt/sandbox/shims"

enum warm_kind { WARM_NONE, WARM_PYTHON, WARM_NODE };

/* Which bootstrap a runtime has: by its name, and only when its command
 * is the interpreter and the script (`python3 {file}`, `node {file}`). */
static enum warm_kind warm_kind(const struct rt_runtime *rt)
{
	if (!rt || strv_len(rt->run_argv) != 2 || strcmp(rt->run_argv[1], "{file}") != 0)
		return WARM_NONE;
	if (strcmp(rt->name, "python") == 0)
		return WARM_PYTHON;
	if (strcmp(rt->name, "node") == 0)
		return WARM_NODE;
	return WARM_NONE;
}

bool req_warm_supported(const struct rt_runtime *rt)
{
	return warm_kind(rt) != WARM_NONE;
}

/* A template built before the node bootstrap existed has no shim: its
 * node runs cold. */
static bool warm_node_shim_in(const struct rt_template *t)
{
	char path[PATH_MAX];
	int n = snprintf(path, sizeof path, "%s%s", t->tree, WARM_NODE_SHIM);
	return n > 0 && (size_t)n < sizeof path && access(path, R_OK) == 0;
}

int req_warm_python_pyc(char out[WARM_PYC_PATH_MAX])
{
	struct sha256 c;
	unsigned char d[SHA256_LEN];
	char hex[2 * SHA256_LEN + 1];

	sha256_init(&c);
	sha256_update(&c, req_warm_python_boot, strlen(req_warm_python_boot));
	sha256_final(&c, d);
	sha256_hex(d, hex);
	int n = snprintf(out, WARM_PYC_PATH_MAX, WARM_SHIM_DIR "/warm-%.16s.pyc", hex);
	return n > 0 && n < WARM_PYC_PATH_MAX ? 0 : -1;
}

/* Whether the template holds the byte code of this bootstrap; its name
 * (in the jail) in pyc when it does. */
static bool warm_python_pyc_in(const struct rt_template *t, char pyc[WARM_PYC_PATH_MAX])
{
	char path[PATH_MAX];
	if (req_warm_python_pyc(pyc) < 0)
		return false;
	int n = snprintf(path, sizeof path, "%s%s", t->tree, pyc);
	return n > 0 && (size_t)n < sizeof path && access(path, R_OK) == 0;
}

/* The interpreter's command: python3 /opt/sandbox/shims/warm-HASH.pyc, or
 * python3 -c BOOT; node -r SHIM /work/main.js
 * started in / (warm_spec.cwd): node reads the package.json of its
 * working directory while it loads SHIM (its "self" resolution), and
 * caches what it found; in /work, before the job's files are there, that
 * would hide a job's package.json ("type": "module").  The bootstrap moves
 * to /work; the script's name is the one a cold `node main.js` resolves. */
static char **warm_argv(const struct rt_template *t, const struct rt_runtime *rt)
{
	char script[PATH_MAX], pyc[WARM_PYC_PATH_MAX];
	const char *v[5] = { rt->run_argv[0] };
	if (warm_kind(rt) == WARM_PYTHON && warm_python_pyc_in(t, pyc)) {
		v[1] = pyc;
	} else if (warm_kind(rt) == WARM_PYTHON) {
		v[1] = "-c";
		v[2] = req_warm_python_boot;
	} else {
		int n = snprintf(script, sizeof script, "%s/%s", JAIL_WORK_DIR, rt->file);
		if (n < 0 || (size_t)n >= sizeof script)
			return NULL;
		v[1] = "-r";
		v[2] = WARM_NODE_SHIM;
		v[3] = script;
	}
	char **argv = strv_new(4);
	for (size_t i = 0; argv && v[i]; i++) {
		if (!(argv[i] = strdup(v[i]))) {
			strv_free(argv);
			return NULL;
		}
	}
	return argv;
}

char *req_warm_key(const struct rt_template *t, const struct rt_runtime *rt)
{
	size_t n = strlen(rt->name) + strlen(t->tree) + 2;
	char *k = malloc(n);
	if (k)
		snprintf(k, n, "%s:%s", rt->name, t->tree);
	return k;
}

void req_warm_free(struct req_warm *w)
{
	free(w->key);
	free(w->rootfs);
	strv_free(w->argv);
	strv_free(w->envp);
	memset(w, 0, sizeof *w);
}

int req_warm_make(const struct rt_template *t, const struct rt_runtime *rt,
                  const struct req_config *cfg, struct req_warm *w)
{
	struct req_job job;
	struct req_error err;

	memset(w, 0, sizeof *w);
	if (!req_warm_supported(rt) || (warm_kind(rt) == WARM_NODE && !warm_node_shim_in(t)))
		return -1;
	memset(&job, 0, sizeof job);
	/* The environment of a request without env: the bootstrap replaces
	 * it with the job's, which may differ only where start-up does not
	 * read it (req_warm_job). */
	if (req_parse_env(NULL, cfg, &job, &err) < 0)
		return -1;
	w->envp = job.envp;
	w->argv = warm_argv(t, rt);
	w->key = req_warm_key(t, rt);
	w->rootfs = strdup(t->tree);      /* the registry's may go on a refresh */
	if (!w->argv || !w->key || !w->rootfs) {
		req_warm_free(w);
		return -1;
	}
	w->spec.key = w->key;
	w->spec.rootfs = w->rootfs;
	w->spec.argv = w->argv;
	w->spec.envp = w->envp;
	/* The highest limits a request may have: a job lowers them. */
	w->spec.limits = (struct jail_limits){
		.wall_time_ms = cfg->wall_time_ms.max, .cpu_time_ms = cfg->cpu_time_ms.max,
		.memory_bytes = cfg->memory_mb.max << 20, .max_processes = cfg->max_processes.max,
		.max_output_bytes = cfg->max_output_bytes.max,
		.max_file_bytes = cfg->max_file_size_bytes, .max_open_files = cfg->max_open_files };
	w->spec.cwd = warm_kind(rt) == WARM_NODE ? "/" : NULL;
	/* node cannot fork with its threads: python only. */
	w->spec.fork_boot = warm_kind(rt) == WARM_PYTHON ? req_warm_python_fork_boot : NULL;
	w->spec.work_bytes = cfg->work_mb << 20;
	w->spec.tmp_bytes = cfg->tmp_mb << 20;
	return 0;
}

static bool warm_prefixed(const char *v, const char *const *prefixes)
{
	for (size_t k = 0; prefixes[k]; k++)
		if (strncmp(v, prefixes[k], strlen(prefixes[k])) == 0)
			return true;
	return false;
}

/* Variables the interpreter reads while it starts (locale, paths, its
 * own options; node: NODE_OPTIONS, NODE_PATH and the rest of NODE_*,
 * OpenSSL's, libuv's): a job that sets them otherwise than the warm one
 * had them runs cold. */
static const char *warm_env_misfit(enum warm_kind kind, char *const *envp)
{
	static const char *const same[] = {
		"PATH=/usr/local/bin:/usr/bin:/bin", "HOME=" JAIL_WORK_DIR, "LANG=C.UTF-8", NULL };
	static const char *const common[] = { "LC_", "LANGUAGE=", NULL };
	static const char *const python[] = { "PYTHON", NULL };
	static const char *const node[] = { "NODE_", "OPENSSL_", "SSL_CERT_", "UV_", NULL };

	for (size_t i = 0; envp && envp[i]; i++) {
		const char *v = envp[i];
		/* NODE_ENV is a convention of libraries, which read it when they
		 * run; node itself never does. */
		if (kind == WARM_NODE && strncmp(v, "NODE_ENV=", 9) == 0)
			continue;
		if (warm_prefixed(v, common) || warm_prefixed(v, kind == WARM_PYTHON ? python : node))
			return "environment";
		for (size_t k = 0; same[k]; k++) {
			size_t n = strchr(same[k], '=') - same[k] + 1;
			if (strncmp(v, same[k], n) == 0 && strcmp(v, same[k]) != 0)
				return "environment";
		}
	}
	return NULL;
}

static int warm_put(char **buf, size_t *len, size_t *cap, const char *s, size_t n)
{
	if (*len + n + 1 > *cap) {
		size_t nc = (*cap ? *cap * 2 : 4096);
		while (nc < *len + n + 1)
			nc *= 2;
		char *nb = realloc(*buf, nc);
		if (!nb)
			return -1;
		*buf = nb;
		*cap = nc;
	}
	memcpy(*buf + *len, s, n);
	(*buf)[*len + n] = '\0';
	*len += n + 1;
	return 0;
}

static int warm_put_list(char **buf, size_t *len, size_t *cap, char *const *v)
{
	char num[32];
	size_t n = strv_len(v);
	snprintf(num, sizeof num, "%zu", n);
	if (warm_put(buf, len, cap, num, strlen(num)) < 0)
		return -1;
	for (size_t i = 0; i < n; i++)
		if (warm_put(buf, len, cap, v[i], strlen(v[i])) < 0)
			return -1;
	return 0;
}

const char *req_warm_job(const struct req_job *job, char **frame, size_t *len)
{
	const struct rt_runtime *rt = job->runtime;
	char *body = NULL, head[32];
	size_t blen = 0, cap = 0;
	const char *why;

	*frame = NULL;
	*len = 0;
	if (!req_warm_supported(rt))
		return "runtime";
	if (job->handler_mode)
		return "handler mode";
	if (job->compile_argv)
		return "compile step";
	/* The runtime's own command: the interpreter, then the script. */
	if (strv_len(job->argv) < 2 || strcmp(job->argv[0], rt->run_argv[0]) != 0 ||
	    strcmp(job->argv[1], rt->file) != 0)
		return "entrypoint";
	if ((why = warm_env_misfit(warm_kind(rt), job->envp)))
		return why;
	for (size_t i = 0; warm_kind(rt) == WARM_PYTHON && i < job->nfiles; i++)
		if (strncmp(job->files[i].path, ".local", 6) == 0 &&
		    (job->files[i].path[6] == '/' || job->files[i].path[6] == '\0'))
			return "user site";
	if (warm_put_list(&body, &blen, &cap, job->argv) < 0 ||
	    warm_put_list(&body, &blen, &cap, job->envp) < 0) {
		free(body);
		return "out of memory";
	}
	int hn = snprintf(head, sizeof head, "%zu\n", blen);
	*frame = malloc((size_t)hn + blen);
	if (!*frame) {
		free(body);
		return "out of memory";
	}
	memcpy(*frame, head, (size_t)hn);
	memcpy(*frame + hn, body, blen);
	*len = (size_t)hn + blen;
	free(body);
	return NULL;
}

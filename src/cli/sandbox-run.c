/*
 * sandbox-run - run one command in the jail and print the result as the
 * same JSON object POST /api/sandbox/run answers.  For operators debugging
 * a RootFS and for tests probing the isolation directly.
 *
 * Two ways to say what to run, both with the API's own defaults (one
 * source: req_config_defaults and friends in src/api, never copied here):
 *   sandbox-run [options] -- COMMAND...   a command in a RootFS tree;
 *   sandbox-run --request FILE|-          a POST /api/sandbox/run body, read
 *       by the responder's parser (req_parse_run_stream) against the same
 *       registry and turned into the same job (req_job_spec), so that the
 *       answer is the one the API gives (tests/integration/test_contract.py
 *       compares them field by field).
 *
 * Exit status: 0 the program ran (whatever it did: see "status"),
 *              1 the sandbox failed ({"error": {...}} names the step),
 *              2 usage error (one line on stderr), or with --request a
 *                refused request (the API's 4xx {"error": {...}} on stdout).
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "api/req.h"
#include "api/resp.h"
#include "api/rt.h"
#include "common/num.h"
#include "common/path.h"
#include "jail/jail.h"
#include "session/session.h"

#define MAX_ITEMS 256

struct cli {
	struct req_config rc;         /* the API's defaults and caps */
	struct jail_config cfg;
	struct jail_spec spec;
	struct jail_step step;
	struct jail_file files[MAX_ITEMS];
	void *owned[MAX_ITEMS];       /* file contents we read and must free */
	const char *env[MAX_ITEMS];   /* --env NAME=VALUE, as given */
	struct req_job job;           /* owns the merged environment */
	const char *outputs[MAX_ITEMS];
	size_t nenv;
	char *stdin_buf;
	bool info;
	const char *request;          /* --request FILE|- */
	const char *rootfs_base;      /* --rootfs-base: the registry for --request */
	const char *job_opt;          /* first option that describes the job */
	const char *session_dir;      /* --session-dir: DIR/work is the workspace */
};

/* --session-dir DIR: the run's /work is DIR/work, copied in before the run
 * and committed back (ses_commit) after it, as a session run of the API
 * does (docs/SESSIONS.md), with the /work size as the quota. For the jail
 * tests of the work hooks. */
struct cli_session {
	int dirfd;                    /* DIR */
	uint64_t quota;
	bool committed, over;
	uint64_t used;
};

static void ses_to_jail_error(const struct ses_error *se, const char *step, struct jail_error *e)
{
	snprintf(e->step, sizeof e->step, "%s", step);
	e->err = se->err ? se->err : EIO;
	snprintf(e->detail, sizeof e->detail, "%.159s", se->msg);
}

static int cli_import(void *arg, int work_fd, uid_t uid, gid_t gid, struct jail_error *e)
{
	struct cli_session *cs = arg;
	struct ses_error se = { 0 };
	int ws = openat(cs->dirfd, "work", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	int rc;

	if (ws < 0) {
		se.err = errno;
		snprintf(se.msg, sizeof se.msg, "open work: %s", strerror(errno));
		ses_to_jail_error(&se, "session copy-in", e);
		return -1;
	}
	rc = ses_copy_in(ws, work_fd, uid, gid, &se);
	close(ws);
	if (rc < 0)
		ses_to_jail_error(&se, "session copy-in", e);
	return rc;
}

static int cli_export(void *arg, int work_fd, const struct jail_result *res, struct jail_error *e)
{
	struct cli_session *cs = arg;
	struct ses_error se = { 0 };

	/* A cancelled run, or one that filled /work (a write failed ENOSPC:
	 * the program's files may be cut short): the workspace stays as it was. */
	if (res->cancelled || res->work_full) {
		cs->over = res->work_full;
		return 0;
	}
	if (ses_commit(cs->dirfd, work_fd, cs->quota, &cs->over, &cs->used, &se) < 0) {
		ses_to_jail_error(&se, "session commit", e);
		return -1;
	}
	cs->committed = !cs->over;
	return 0;
}

/* The default template's tree under configure's --with-rootfs-base (the
 * Makefile passes it), as sandbox-fcgi picks it. */
static const char *default_rootfs(const struct req_config *rc)
{
	static char path[4096];

	snprintf(path, sizeof path, "%s/%s/current/tree", SANDBOX_ROOTFS_BASE, rc->default_template);
	return path;
}

/* The defaults printed are the API's (req_config_defaults). */
static void usage(FILE *f)
{
	struct req_config rc;
	struct jail_limits l;

	req_config_defaults(&rc);
	req_config_limits(&rc, &l);
	fprintf(f, "usage: sandbox-run [options] -- COMMAND [ARG...]\n"
	      "       sandbox-run [--rootfs-base DIR] [jail options] --request FILE|-\n"
	      "  --request FILE         run a POST /api/sandbox/run body (JSON; '-': stdin) with the\n"
	      "                         API's parser, defaults and caps; no COMMAND, --file, --env,\n"
	      "                         limits, --output, --stdin or --rootfs with it (the body says)\n"
	      "  --rootfs-base DIR      the RootFS templates for --request (default " SANDBOX_ROOTFS_BASE ")\n"
	      "  --rootfs PATH          RootFS tree (default $SANDBOX_ROOTFS or %s)\n"
	      "  --file PATH=HOSTFILE   copy a host file to /work/PATH (repeatable)\n"
	      "  --file-data PATH=TEXT  write TEXT to /work/PATH (repeatable)\n"
	      "  --exec-file PATH=HOSTFILE  like --file, mode 0755\n"
	      "  --stdin FILE           program stdin from FILE ('-': ours)\n"
	      "  --env NAME=VALUE       environment (repeatable), merged with the API's defaults\n"
	      "                         PATH, HOME, LANG, TMPDIR as POST /run does: a name given wins\n"
	      "  --wall-ms N (%" PRIu64 ") --cpu-ms N (the wall time) --memory-mb N (%" PRIu64 ")\n"
	      "  --max-processes N (%" PRIu64 ") --max-open-files N (%" PRIu64 ")\n"
	      "  --max-output BYTES (%" PRIu64 ", stdout and stderr each) --max-file-size BYTES (%" PRIu64 ")\n"
	      "  --work-mb N --tmp-mb N sizes of the /work and /tmp tmpfs (%" PRIu64 ", %" PRIu64 ")\n"
	      "  --output GLOB          return matching files of /work (repeatable)\n"
	      "  --session-dir DIR      /work is DIR/work, copied in and committed back after the\n"
	      "                         run as a session run does (quota: the /work size); the\n"
	      "                         answer gets \"session\": {quota_exceeded, committed, bytes_used}\n"
	      "  --cgroup PATH          v2 delegated dir (NAME: /sys/fs/cgroup/NAME) or v1 name (default: detect)\n"
	      "  --allow-degraded-limits  run even where cgroups cannot enforce --memory-mb (incl.\n"
	      "                         tmpfs, swap), --max-processes and --cpu-ms for the whole run:\n"
	      "                         they become per-process rlimits; --info lists them under\n"
	      "                         \"degraded_limits\".  Default: refuse (exit 1, step named)\n"
	      "  --require-cgroup       with --allow-degraded-limits: still fail if no cgroup\n"
	      "                         hierarchy at all can be used (implied without it)\n"
	      "  --info                 print the isolation in effect and exit\n"
	      "  --help, --version\n"
	      "Prints the POST /api/sandbox/run answer as JSON. Exit status: 0 the program ran,\n"
	      "1 the sandbox failed (the JSON error names the step), 2 usage error or a\n"
	      "request --request refused (the API's 4xx error object on stdout).\n",
	      default_rootfs(&rc), l.wall_time_ms, l.memory_bytes >> 20, l.max_processes,
	      l.max_open_files, l.max_output_bytes, l.max_file_bytes, rc.work_mb, rc.tmp_mb);
}

/* A usage error: one line, the way to the full usage, exit status 2. */
__attribute__((format(printf, 1, 2)))
static int usage_error(const char *fmt, ...)
{
	va_list ap;

	fputs("sandbox-run: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputs(" (try 'sandbox-run --help')\n", stderr);
	return -1;
}

static char *read_file(const char *path, size_t *len)
{
	FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "rbe");
	if (!f)
		return NULL;
	size_t cap = 65536, n = 0;
	char *buf = malloc(cap);
	size_t got;
	while (buf && (got = fread(buf + n, 1, cap - n, f)) > 0) {
		n += got;
		if (n == cap) {
			char *nb = realloc(buf, cap *= 2);
			if (!nb) {
				free(buf);
				buf = NULL;
			}
			buf = nb;
		}
	}
	if (f != stdin)
		fclose(f);
	*len = n;
	return buf;
}

static int parse_u64(const char *opt, const char *s, uint64_t *out)
{
	if (num_parse_u64(s, out) < 0)
		return usage_error("--%s: not a non-negative integer: '%s'", opt, s);
	return 0;
}

static int add_file(struct cli *c, const char *arg, int kind)
{
	if (c->spec.nfiles >= MAX_ITEMS)
		return usage_error("more than %d files", MAX_ITEMS);
	const char *eq = strchr(arg, '=');
	if (!eq || eq == arg)
		return usage_error("expected PATH=..., got '%s'", arg);
	char *path = strndup(arg, (size_t)(eq - arg));
	const char *why = path_check(path, strlen(path), c->rc.max_path_depth);
	if (why) {
		usage_error("bad path '%s': %s", path, why);
		free(path);
		return -1;
	}
	struct jail_file *f = &c->files[c->spec.nfiles++];
	f->path = path;
	f->executable = kind == 2;
	if (kind == 1) {
		f->data = eq + 1;
		f->len = strlen(eq + 1);
		return 0;
	}
	f->data = c->owned[c->spec.nfiles - 1] = read_file(eq + 1, &f->len);
	if (!f->data)
		return usage_error("cannot read '%s': %s", eq + 1, strerror(errno));
	return 0;
}

enum { O_ROOTFS = 256, O_FILE, O_FILE_DATA, O_EXEC_FILE, O_STDIN, O_ENV, O_WALL, O_CPU, O_MEM,
       O_PROCS, O_OUTMAX, O_FSIZE, O_NOFILE, O_WORK, O_TMP, O_OUTPUT, O_CGROUP, O_REQCG, O_INFO,
       O_HELP, O_DEGRADED, O_VERSION, O_REQUEST, O_ROOTFS_BASE, O_SESSION_DIR };

static const struct option opts[] = {
	{ "rootfs", required_argument, 0, O_ROOTFS }, { "file", required_argument, 0, O_FILE },
	{ "file-data", required_argument, 0, O_FILE_DATA }, { "exec-file", required_argument, 0, O_EXEC_FILE },
	{ "stdin", required_argument, 0, O_STDIN }, { "env", required_argument, 0, O_ENV },
	{ "wall-ms", required_argument, 0, O_WALL }, { "cpu-ms", required_argument, 0, O_CPU },
	{ "memory-mb", required_argument, 0, O_MEM }, { "max-processes", required_argument, 0, O_PROCS },
	{ "max-output", required_argument, 0, O_OUTMAX }, { "max-file-size", required_argument, 0, O_FSIZE },
	{ "max-open-files", required_argument, 0, O_NOFILE }, { "work-mb", required_argument, 0, O_WORK },
	{ "tmp-mb", required_argument, 0, O_TMP }, { "output", required_argument, 0, O_OUTPUT },
	{ "cgroup", required_argument, 0, O_CGROUP }, { "require-cgroup", no_argument, 0, O_REQCG },
	{ "info", no_argument, 0, O_INFO }, { "help", no_argument, 0, O_HELP },
	{ "allow-degraded-limits", no_argument, 0, O_DEGRADED }, { "version", no_argument, 0, O_VERSION },
	{ "request", required_argument, 0, O_REQUEST }, { "rootfs-base", required_argument, 0, O_ROOTFS_BASE },
	{ "session-dir", required_argument, 0, O_SESSION_DIR },
	{ 0, 0, 0, 0 },
};

static int parse_num_opt(struct cli *c, int o, const char *arg)
{
	struct jail_limits *l = &c->step.limits;
	uint64_t v = 0;
	if (parse_u64(opts[o - O_ROOTFS].name, arg, &v) < 0)
		return -1;
	switch (o) {
	case O_WALL: l->wall_time_ms = v; break;
	case O_CPU: l->cpu_time_ms = v; break;
	case O_MEM: l->memory_bytes = v << 20; break;
	case O_PROCS: l->max_processes = v; break;
	case O_OUTMAX: l->max_output_bytes = v; break;
	case O_FSIZE: l->max_file_bytes = v; break;
	case O_NOFILE: l->max_open_files = v; break;
	case O_WORK: c->spec.work_bytes = v << 20; break;
	case O_TMP: c->spec.tmp_bytes = v << 20; break;
	}
	return 0;
}

static int parse_opt(struct cli *c, int o, const char *arg)
{
	if (!c->job_opt && o >= O_ROOTFS && o <= O_OUTPUT)
		c->job_opt = opts[o - O_ROOTFS].name;
	switch (o) {
	case O_ROOTFS: c->spec.rootfs = arg; return 0;
	case O_FILE: return add_file(c, arg, 0);
	case O_FILE_DATA: return add_file(c, arg, 1);
	case O_EXEC_FILE: return add_file(c, arg, 2);
	case O_STDIN: {
		size_t len;
		free(c->stdin_buf);
		c->stdin_buf = read_file(arg, &len);
		if (!c->stdin_buf)
			return usage_error("--stdin: cannot read '%s': %s", arg, strerror(errno));
		c->step.stdin_data = c->stdin_buf;
		c->step.stdin_len = len;
		return 0;
	}
	case O_ENV:
		if (!strchr(arg, '=') || c->nenv >= MAX_ITEMS)
			return usage_error("--env wants NAME=VALUE (at most %d), got '%s'", MAX_ITEMS, arg);
		c->env[c->nenv++] = arg;
		return 0;
	case O_OUTPUT:
		if (c->spec.noutputs >= MAX_ITEMS)
			return usage_error("more than %d --output patterns", MAX_ITEMS);
		c->outputs[c->spec.noutputs++] = arg;
		return 0;
	case O_CGROUP: c->cfg.cgroup_path = arg; return 0;
	case O_REQCG: c->cfg.require_cgroup = true; return 0;
	case O_DEGRADED: c->cfg.allow_degraded_limits = true; return 0;
	case O_INFO: c->info = true; return 0;
	case O_REQUEST: c->request = arg; return 0;
	case O_ROOTFS_BASE: c->rootfs_base = arg; return 0;
	case O_SESSION_DIR: c->session_dir = arg; return 0;
	case O_HELP: usage(stdout); exit(fflush(stdout) == 0 ? 0 : 1);
	case O_VERSION: printf("sandbox-run %s\n", PACKAGE_VERSION); exit(fflush(stdout) == 0 ? 0 : 1);
	default: return parse_num_opt(c, o, arg);
	}
}

/* The API's defaults, taken from src/api (never written twice). */
static void cli_defaults(struct cli *c)
{
	req_config_defaults(&c->rc);
	req_config_limits(&c->rc, &c->step.limits);
	/* Without --cpu-ms: 0, the jail's own default (the wall time, as
	 * RLIMIT_CPU), as sandbox-run always did; POST /run passes the wall
	 * time itself. --request gives the API's exact value. */
	c->step.limits.cpu_time_ms = 0;
	req_config_spec(&c->rc, &c->spec);
	c->spec.rootfs = getenv("SANDBOX_ROOTFS") ? getenv("SANDBOX_ROOTFS") : default_rootfs(&c->rc);
	c->cfg.clone_mode = jail_clone_mode_parse(getenv(JAIL_CLONE_MODE_ENV));
	c->rootfs_base = SANDBOX_ROOTFS_BASE;
	c->step.name = "run";
}

/* The environment exactly as POST /run builds it (req_parse_env, with the
 * API's own caps and name checks): the --env values, then the defaults for
 * the names not given. A name given twice: the last one. */
static int build_env(struct cli *c)
{
	struct req_error err;
	json_t *env = json_object();
	int ret = 0;

	for (size_t i = 0; env && ret == 0 && i < c->nenv; i++) {
		const char *eq = strchr(c->env[i], '=');
		char *name = strndup(c->env[i], (size_t)(eq - c->env[i]));
		json_t *v = json_string(eq + 1);

		if (!name || !v) {
			json_decref(v);
			ret = usage_error("--env %s: not UTF-8 text", c->env[i]);
		} else if (json_object_set_new(env, name, v) < 0) {   /* takes v, even then */
			ret = usage_error("--env %s: invalid name", c->env[i]);
		}
		free(name);
	}
	if (!env)
		ret = usage_error("out of memory");
	else if (ret == 0 && req_parse_env(env, &c->rc, &c->job, &err) < 0)
		ret = usage_error("--env: %s", err.message);
	json_decref(env);
	c->spec.envp = c->job.envp;
	return ret;
}

static int print_json(json_t *j)
{
	if (!j || json_dumpf(j, stdout, JSON_COMPACT) < 0) {
		json_decref(j);
		return -1;
	}
	json_decref(j);
	putchar('\n');
	return fflush(stdout);
}

/* json_dump_callback_t onto stdout. */
static int put_stdout(const char *buf, size_t len, void *ctx)
{
	(void)ctx;
	return fwrite(buf, 1, len, stdout) == len ? 0 : -1;
}

/* The answer, written as the responder writes it (resp_result_write). */
static int print_result(const struct jail_result *res, const struct resp_opts *ro)
{
	if (resp_result_write(res, ro, put_stdout, NULL) < 0)
		return -1;
	putchar('\n');
	return fflush(stdout);
}

/* The API's 500 body, with the detail in its message: the operator of
 * this host may see its paths (the responder only logs them). */
static int fail_json(const struct jail_error *e)
{
	print_json(resp_sandbox_failure(e, true));
	return 1;
}

/* req_read_fn over a FILE. */
static long read_stream(void *ctx, char *buf, size_t len)
{
	FILE *f = ctx;
	size_t n = fread(buf, 1, len, f);

	return n > 0 ? (long)n : ferror(f) ? -1 : 0;
}

/* With --session-dir: the hooks of a session run on spec. -1: usage error. */
static int session_hooks(struct cli *c, struct jail_spec *spec, struct cli_session *cs,
                         struct jail_work_hooks *h)
{
	memset(cs, 0, sizeof *cs);
	cs->dirfd = -1;
	if (!c->session_dir)
		return 0;
	cs->dirfd = open(c->session_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (cs->dirfd < 0)
		return usage_error("--session-dir: cannot open '%s': %s", c->session_dir,
		                   strerror(errno));
	cs->quota = spec->work_bytes ? spec->work_bytes : c->rc.work_mb << 20;
	spec->work_bytes = cs->quota;
	*h = (struct jail_work_hooks){ .import = cli_import, .export = cli_export, .arg = cs,
	                               .import_bytes = UINT64_MAX };
	int ws = openat(cs->dirfd, "work", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	struct ses_error se;
	if (ws >= 0 && ses_usage(ws, &h->import_bytes, &se) != 0)
		h->import_bytes = UINT64_MAX;
	if (ws >= 0)
		close(ws);
	spec->work_hooks = h;
	spec->replace_inputs = true;
	return 0;
}

static json_t *session_json(const struct cli *c, const struct cli_session *cs)
{
	if (!c->session_dir)
		return NULL;
	return json_pack("{s:b, s:b, s:I}", "quota_exceeded", cs->over, "committed", cs->committed,
	                 "bytes_used", (json_int_t)cs->used);
}

/* --request: the body into a job exactly as POST /run does. 0, or an exit
 * status (2: refused, with the API's 4xx body on stdout). */
static int load_request(struct cli *c, struct rt_registry *reg)
{
	struct req_error err;
	char msg[512];
	FILE *f = strcmp(c->request, "-") == 0 ? stdin : fopen(c->request, "rbe");
	int rc;

	if (!f)
		return usage_error("--request: cannot read '%s': %s", c->request, strerror(errno)), 2;
	if (rt_registry_load(c->rootfs_base, reg, msg, sizeof msg) < 0) {
		if (f != stdin)
			fclose(f);
		fprintf(stderr, "sandbox-run: --rootfs-base: %s\n", msg);
		return 1;
	}
	rc = req_parse_run_stream(read_stream, f, &c->rc, reg, &c->job, &err);
	if (f != stdin)
		fclose(f);
	if (rc == 0)
		return 0;
	fprintf(stderr, "sandbox-run: request refused (HTTP %d): %s\n", err.http_status, err.message);
	print_json(resp_error(err.code, err.message, err.field[0] ? err.field : NULL));
	return 2;
}

static int run_request(struct cli *c)
{
	struct rt_registry reg = { 0 };
	struct jail_spec spec;
	struct jail_result res;
	struct jail_error e;
	struct jail *j;
	int rc = load_request(c, &reg);

	if (rc != 0 || req_job_context_env(&c->job, NULL) < 0 ||
	    req_job_spec(&c->job, &c->rc, &spec) < 0) {
		rt_registry_free(&reg);
		return rc ? rc : (fputs("sandbox-run: out of memory\n", stderr), 1);
	}
	if (!(j = jail_new(&c->cfg, &e))) {
		rt_registry_free(&reg);
		return fail_json(&e);
	}
	struct cli_session cs;
	struct jail_work_hooks hooks;
	if (session_hooks(c, &spec, &cs, &hooks) < 0) {
		rc = 2;
	} else if (jail_run(j, &spec, &res) < 0) {
		rc = fail_json(&res.error);
	} else {
		struct resp_opts ro = { .has_compile = spec.nsteps > 1,
		                        .handler_mode = c->job.handler_mode,
		                        .job_id = c->job.job_id,
		                        .output_encoding = c->job.output_encoding,
		                        /* as the service's answers: never warm here */
		                        .report_warm = true };
		ro.session = session_json(c, &cs);
		rc = print_result(&res, &ro) < 0 ? 1 : 0;
		json_decref(ro.session);
	}
	if (c->session_dir && cs.dirfd >= 0)
		close(cs.dirfd);
	jail_result_free(&res);
	jail_free(j);
	rt_registry_free(&reg);
	return rc;
}

int main(int argc, char **argv)
{
	static struct cli c;
	cli_defaults(&c);
	int o;
	opterr = 0;
	while ((o = getopt_long(argc, argv, "+", opts, NULL)) != -1) {
		if (o == '?' || o == ':') {
			usage_error("unknown option or missing value: '%s'", argv[optind - 1]);
			return 2;
		}
		if (parse_opt(&c, o, optarg) < 0)
			return 2;
	}
	if (c.request) {
		int rc;
		if (c.job_opt || c.info || optind < argc) {
			usage_error("--request cannot be combined with %s%s (the request says)",
			            c.job_opt ? "--" : "", c.job_opt ? c.job_opt :
			            c.info ? "--info" : "a COMMAND");
			return 2;
		}
		rc = run_request(&c);
		req_job_free(&c.job);
		return rc;
	}
	if (!c.info && optind >= argc) {
		usage_error("no COMMAND after the options");
		return 2;
	}
	if (build_env(&c) < 0)
		return 2;
	c.step.argv = argv + optind;
	c.spec.files = c.files;
	c.spec.steps = &c.step;
	c.spec.nsteps = 1;
	c.spec.outputs = c.outputs;

	struct jail_error e;
	struct jail *j = jail_new(&c.cfg, &e);
	if (!j)
		return fail_json(&e);
	if (c.info) {
		int rc = print_json(resp_isolation(jail_get_info(j)));
		jail_free(j);
		return rc < 0 ? 1 : 0;
	}
	struct jail_result res;
	struct cli_session cs;
	struct jail_work_hooks hooks;
	if (session_hooks(&c, &c.spec, &cs, &hooks) < 0) {
		jail_free(j);
		return 2;
	}
	int rc = jail_run(j, &c.spec, &res);
	if (rc < 0) {
		fail_json(&res.error);
	} else {
		struct resp_opts ro = { 0 };
		ro.session = session_json(&c, &cs);
		rc = print_result(&res, &ro);
		json_decref(ro.session);
	}
	if (cs.dirfd >= 0)
		close(cs.dirfd);
	jail_result_free(&res);
	jail_free(j);
	for (size_t i = 0; i < c.spec.nfiles; i++) {
		free((char *)c.files[i].path);
		free(c.owned[i]);
	}
	free(c.stdin_buf);
	req_job_free(&c.job);
	return rc < 0 ? 1 : 0;
}

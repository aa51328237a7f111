/*
 * cfg.c - flags of sandbox-fcgi. Limit flags are a table so that every cap
 * of struct req_config is reachable from the command line (and from the
 * systemd unit) without one branch per flag.
 */
#include "fcgi/cfg.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/num.h"

enum num_kind { NUM_SIZE, NUM_U64 };

struct num_flag {
	const char *name;
	enum num_kind kind;
	size_t off;                  /* offset in struct fcgi_cfg */
	const char *help;            /* for --help, followed by the default */
};

#define RQ(field) offsetof(struct fcgi_cfg, req.field)
#define CF(field) offsetof(struct fcgi_cfg, field)

static const struct num_flag num_flags[] = {
	{ "max-body-bytes", NUM_SIZE, RQ(max_body_bytes), "largest request body" },
	{ "max-code-bytes", NUM_SIZE, RQ(max_code_bytes), "largest \"code\"" },
	{ "max-files", NUM_SIZE, RQ(max_files), "most entries in \"files\"" },
	{ "max-file-bytes", NUM_SIZE, RQ(max_file_bytes), "largest file of \"files\"" },
	{ "max-files-total-bytes", NUM_SIZE, RQ(max_files_total_bytes), "all of \"files\" together" },
	{ "max-stdin-bytes", NUM_SIZE, RQ(max_stdin_bytes), "largest \"stdin\"" },
	{ "max-output-files", NUM_SIZE, RQ(max_output_files), "most files returned for \"outputs\"" },
	{ "max-output-file-bytes", NUM_U64, RQ(max_output_file_bytes), "largest returned file" },
	{ "max-output-total-bytes", NUM_U64, RQ(max_output_total_bytes), "all returned files together" },
	{ "default-wall-time-ms", NUM_U64, RQ(wall_time_ms.def), "limits.wall_time_ms when absent" },
	{ "max-wall-time-ms", NUM_U64, RQ(wall_time_ms.max), "largest limits.wall_time_ms" },
	{ "default-cpu-time-ms", NUM_U64, RQ(cpu_time_ms.def), "limits.cpu_time_ms when absent; 0: the wall time" },
	{ "max-cpu-time-ms", NUM_U64, RQ(cpu_time_ms.max), "largest limits.cpu_time_ms" },
	{ "default-memory-mb", NUM_U64, RQ(memory_mb.def), "limits.memory_mb when absent" },
	{ "max-memory-mb", NUM_U64, RQ(memory_mb.max), "largest limits.memory_mb" },
	{ "default-max-processes", NUM_U64, RQ(max_processes.def), "limits.max_processes when absent" },
	{ "max-max-processes", NUM_U64, RQ(max_processes.max), "largest limits.max_processes" },
	{ "default-max-output-bytes", NUM_U64, RQ(max_output_bytes.def), "limits.max_output_bytes when absent" },
	{ "max-max-output-bytes", NUM_U64, RQ(max_output_bytes.max), "largest limits.max_output_bytes" },
	{ "work-mb", NUM_U64, RQ(work_mb), "size of a run's /work tmpfs" },
	{ "tmp-mb", NUM_U64, RQ(tmp_mb), "size of a run's /tmp tmpfs" },
	{ "queue-timeout-ms", NUM_U64, CF(queue_timeout_ms), "longest wait for a responder, then 503" },
	{ "async-max-wall-time-ms", NUM_U64, CF(async_max_wall_ms), "largest limits.wall_time_ms of an async run" },
	{ "async-retention-s", NUM_U64, CF(async_retention_s), "a finished async run is kept this long" },
	{ "async-slots", NUM_U64, CF(async_slots), "responders running async runs at once; 0: pool/2, at least 1" },
	{ "wait-slots", NUM_U64, CF(wait_slots), "long polls (?wait=) at once; 0: the pool size" },
	{ "max-wait-s", NUM_U64, CF(max_wait_s), "largest ?wait= of GET /runs/{id}" },
	{ "max-batch-runs", NUM_U64, CF(max_batch_runs), "runs in one batch, ids in one GET /runs" },
	{ "max-queued-runs", NUM_U64, CF(max_queued_runs), "async runs waiting at most; more: 503" },
	{ "default-session-ttl-s", NUM_U64, RQ(ses_ttl_s.def), "session ttl_s when absent" },
	{ "max-session-ttl-s", NUM_U64, RQ(ses_ttl_s.max), "largest session ttl_s" },
	{ "default-session-idle-s", NUM_U64, RQ(ses_idle_timeout_s.def), "session idle_timeout_s when absent" },
	{ "max-session-idle-s", NUM_U64, RQ(ses_idle_timeout_s.max), "largest session idle_timeout_s" },
	{ "default-session-disk-mb", NUM_U64, RQ(ses_disk_mb.def), "session disk_mb when absent" },
	{ "max-session-disk-mb", NUM_U64, RQ(ses_disk_mb.max), "largest session disk_mb" },
	{ "max-upload-bytes", NUM_U64, CF(max_upload_bytes), "largest file upload (nginx: same cap)" },
};
#define N_NUM_FLAGS (sizeof num_flags / sizeof num_flags[0])

enum { OPT_SOCKET = 1000, OPT_BACKLOG, OPT_ROOTFS, OPT_TEMPLATE, OPT_CGROUP,
       OPT_REQUIRE_CG, OPT_POOL, OPT_HELP, OPT_VERSION, OPT_DEGRADED, OPT_METRICS,
       OPT_STATE, OPT_SWEEP, OPT_LIST, OPT_PURGE, OPT_TRUST_SID, OPT_WARM, OPT_WARM_FORK,
       OPT_CPU_AFFINITY, OPT_NUM_BASE = 2000,
       OPT_CB_BASE = 3000 };

void fcgi_cfg_defaults(struct fcgi_cfg *c)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);

	memset(c, 0, sizeof *c);
	c->backlog = 64;
	c->rootfs_base = FCGI_DEFAULT_ROOTFS_BASE;
	c->pool_size = n > 0 ? (unsigned)n : 1;
	c->queue_timeout_ms = 10000;
	c->metrics_file = FCGI_DEFAULT_METRICS_FILE;
	c->state_dir = FCGI_DEFAULT_STATE_DIR;
	c->async_max_wall_ms = 900000;
	c->async_retention_s = 3600;
	c->max_wait_s = 30;
	c->max_batch_runs = 100;
	c->max_queued_runs = 10000;
	c->cmd = FCGI_CMD_SERVE;
	c->max_upload_bytes = 64u << 20;
	req_config_defaults(&c->req);
	c->template_name = c->req.default_template;   /* the API's, written once */
	c->warm_runtime = "auto";
	c->warm_fork = true;
	c->cpu_home = true;
	cb_config_defaults(&c->cb);
}

static uint64_t num_value(const struct fcgi_cfg *c, const struct num_flag *f)
{
	const char *base = (const char *)c + f->off;

	if (f->kind == NUM_SIZE)
		return *(const size_t *)(const void *)base;
	return *(const uint64_t *)(const void *)base;
}

void fcgi_cfg_version(FILE *f)
{
	fprintf(f, "sandbox-fcgi %s\n", PACKAGE_VERSION);
}

void fcgi_cfg_usage_error(FILE *f, const char *msg)
{
	fprintf(f, "sandbox-fcgi: %s (try 'sandbox-fcgi --help')\n", msg);
}

/* The defaults printed are those of fcgi_cfg_defaults(), so the text cannot
 * drift from the code (the pool size is this machine's CPU count). */
void fcgi_cfg_help(FILE *f)
{
	struct fcgi_cfg d;

	fcgi_cfg_defaults(&d);
	fprintf(f,
	        "usage: sandbox-fcgi [OPTION...]\n"
	        "A FastCGI responder of the sandbox-fcgi API, one of a pool started by\n"
	        "spawn-fcgi or systemd + multiwatch (see sandbox-fcgi(8)).\n\n"
	        "  --socket PATH|HOST:PORT        listen there (default: the socket is fd 0, as\n"
	        "                                 spawn-fcgi and systemd hand it over)\n"
	        "  --backlog N                    listen backlog with --socket (default %d)\n"
	        "  --rootfs-base DIR              the RootFS templates\n"
	        "                                 (default %s)\n"
	        "  --template NAME                template of requests that name none (default %s)\n"
	        "  --cgroup PATH                  v2: delegated directory (NAME: /sys/fs/cgroup/NAME);\n"
	        "                                 v1: name under each controller (default: detect)\n"
	        "  --allow-degraded-limits        start even where cgroups cannot enforce memory (incl.\n"
	        "                                 tmpfs, swap), process count and CPU time of a whole\n"
	        "                                 run: per-process rlimits instead (default: refuse)\n"
	        "  --require-cgroup               with --allow-degraded-limits: still refuse when no\n"
	        "                                 cgroup hierarchy is usable (default: off)\n"
	        "  --pool-size N                  responders in the pool, for /info and each run's\n"
	        "                                 share of kernel quotas (default: CPUs, here %u)\n"
	        "  --metrics-file PATH            the pool's shared metrics, one file for all\n"
	        "                                 responders (default %s)\n"
	        "  --state-dir DIR                durable state: sessions, asynchronous runs,\n"
	        "                                 callbacks; created 0700 if missing (default %s)\n"
	        "  --sweep-sessions               delete expired sessions in --state-dir and exit\n"
	        "                                 (default: serve; the systemd timer runs it)\n"
	        "  --list-sessions                one JSON line per session and exit (default: serve)\n"
	        "  --purge-sessions               delete every session and exit (default: serve)\n"
	        "  --trust-session-id-param       a new session takes the id in the FastCGI param\n"
	        "                                 SANDBOX_SESSION_ID: several hosts behind a front\n"
	        "                                 nginx, only where no client reaches this host's\n"
	        "                                 nginx directly (default: off, random ids)\n"
	        "  --warm-runtime auto|NAME[@TEMPLATE]|none\n"
	        "                                 whose interpreter waits, started, for the next\n"
	        "                                 request: auto, the runtime and template most\n"
	        "                                 used in a responder's last 32 runs (python of\n"
	        "                                 --template before any); NAME, that runtime of\n"
	        "                                 TEMPLATE or --template; none, off (default %s)\n"
	        "  --warm-fork on|off             python's warm interpreters forked by a zygote\n"
	        "                                 per responder instead of started (default %s)\n"
	        "  --cpu-affinity auto|off        auto: each responder, and what it starts to\n"
	        "                                 prepare runs, on a CPU of its own (its slot in\n"
	        "                                 --metrics-file); programs keep every CPU\n"
	        "                                 (default %s)\n",
	        d.backlog, d.rootfs_base, d.template_name, d.pool_size, d.metrics_file,
	        d.state_dir, d.warm_runtime, d.warm_fork ? "on" : "off", d.cpu_home ? "auto" : "off");
	for (size_t i = 0; i < N_NUM_FLAGS; i++) {
		char opt[40];

		snprintf(opt, sizeof opt, "--%s N", num_flags[i].name);
		fprintf(f, "  %-30s %s (default %" PRIu64 ")\n", opt, num_flags[i].help,
		        num_value(&d, &num_flags[i]));
	}
	fprintf(f, "\nCallbacks of asynchronous runs: sandbox-fcgi checks callback_url against\n"
	        "the allowlist; sandbox-callbacks(8) delivers and signs. Both take these flags\n"
	        "(the responder never reads the secret file):\n");
	cb_config_help(f);
	fprintf(f, "  -h, --help                     this text\n"
	        "  --version                      the version\n\n"
	        "Exit status: 0 after --help/--version or a clean stop, 1 when start-up\n"
	        "fails (log event sandbox.start.failed names the step), 2 on a usage error.\n");
}

static int set_num(struct fcgi_cfg *c, const struct num_flag *f, const char *arg)
{
	uint64_t v;
	char *base = (char *)c + f->off;

	if (num_parse_u64(arg, &v) < 0)
		return -1;
	if (f->kind == NUM_SIZE) {
		if (v > SIZE_MAX)
			return -1;
		*(size_t *)(void *)base = (size_t)v;
	} else {
		*(uint64_t *)(void *)base = v;
	}
	return 0;
}

static struct option *build_options(void)
{
	static const struct option fixed[] = {
		{ "socket", required_argument, NULL, OPT_SOCKET },
		{ "backlog", required_argument, NULL, OPT_BACKLOG },
		{ "rootfs-base", required_argument, NULL, OPT_ROOTFS },
		{ "template", required_argument, NULL, OPT_TEMPLATE },
		{ "cgroup", required_argument, NULL, OPT_CGROUP },
		{ "require-cgroup", no_argument, NULL, OPT_REQUIRE_CG },
		{ "allow-degraded-limits", no_argument, NULL, OPT_DEGRADED },
		{ "pool-size", required_argument, NULL, OPT_POOL },
		{ "metrics-file", required_argument, NULL, OPT_METRICS },
		{ "state-dir", required_argument, NULL, OPT_STATE },
		{ "sweep-sessions", no_argument, NULL, OPT_SWEEP },
		{ "list-sessions", no_argument, NULL, OPT_LIST },
		{ "purge-sessions", no_argument, NULL, OPT_PURGE },
		{ "trust-session-id-param", no_argument, NULL, OPT_TRUST_SID },
		{ "warm-runtime", required_argument, NULL, OPT_WARM },
		{ "warm-fork", required_argument, NULL, OPT_WARM_FORK },
		{ "cpu-affinity", required_argument, NULL, OPT_CPU_AFFINITY },
		{ "help", no_argument, NULL, OPT_HELP },
		{ "version", no_argument, NULL, OPT_VERSION },
	};
	size_t nfixed = sizeof fixed / sizeof fixed[0], ncb = 0;
	struct option *o;

	while (cb_option_names[ncb])
		ncb++;
	o = calloc(nfixed + N_NUM_FLAGS + ncb + 1, sizeof *o);

	if (!o)
		return NULL;
	memcpy(o, fixed, sizeof fixed);
	for (size_t i = 0; i < N_NUM_FLAGS; i++) {
		o[nfixed + i].name = num_flags[i].name;
		o[nfixed + i].has_arg = required_argument;
		o[nfixed + i].val = OPT_NUM_BASE + (int)i;
	}
	for (size_t i = 0; i < ncb; i++) {
		o[nfixed + N_NUM_FLAGS + i].name = cb_option_names[i];
		o[nfixed + N_NUM_FLAGS + i].has_arg = required_argument;
		o[nfixed + N_NUM_FLAGS + i].val = OPT_CB_BASE + (int)i;
	}
	return o;
}

static int check_ranges(const struct fcgi_cfg *c, char *msg, size_t msglen)
{
	const struct { const char *name; const struct req_range *r; } rs[] = {
		{ "wall-time-ms", &c->req.wall_time_ms },
		{ "cpu-time-ms", &c->req.cpu_time_ms },
		{ "memory-mb", &c->req.memory_mb },
		{ "max-processes", &c->req.max_processes },
		{ "max-output-bytes", &c->req.max_output_bytes },
		{ "session-ttl-s", &c->req.ses_ttl_s },
		{ "session-idle-s", &c->req.ses_idle_timeout_s },
		{ "session-disk-mb", &c->req.ses_disk_mb },
	};

	for (size_t i = 0; i < sizeof rs / sizeof rs[0]; i++) {
		const struct req_range *r = rs[i].r;

		/* A default of 0 means "derived" (cpu time: the wall time). */
		if (r->def != 0 && (r->def < r->min || r->def > r->max)) {
			snprintf(msg, msglen, "default %s %" PRIu64 " is outside %" PRIu64
			         "..%" PRIu64, rs[i].name, r->def, r->min, r->max);
			return -1;
		}
	}
	if (c->max_upload_bytes == 0) {
		snprintf(msg, msglen, "--max-upload-bytes must be at least 1");
		return -1;
	}
	if (c->pool_size == 0) {
		snprintf(msg, msglen, "--pool-size must be at least 1");
		return -1;
	}
	if (c->async_max_wall_ms < c->req.wall_time_ms.min) {
		snprintf(msg, msglen, "--async-max-wall-time-ms must be at least %" PRIu64,
		         c->req.wall_time_ms.min);
		return -1;
	}
	if (c->async_slots > c->pool_size || c->wait_slots > c->pool_size) {
		snprintf(msg, msglen, "--async-slots and --wait-slots must not exceed --pool-size");
		return -1;
	}
	if (c->max_batch_runs == 0 || c->max_batch_runs > 10000) {
		snprintf(msg, msglen, "--max-batch-runs must be 1..10000");
		return -1;
	}
	return 0;
}

/* One operator command at a time. */
static int set_cmd(struct fcgi_cfg *c, enum fcgi_cmd cmd)
{
	if (c->cmd != FCGI_CMD_SERVE && c->cmd != cmd)
		return -1;
	c->cmd = cmd;
	return 0;
}

static int apply_opt(struct fcgi_cfg *c, int opt, const char *arg)
{
	uint64_t v;

	switch (opt) {
	case OPT_SOCKET: c->socket = arg; return 0;
	case OPT_ROOTFS: c->rootfs_base = arg; return 0;
	case OPT_TEMPLATE: c->template_name = c->req.default_template = arg; return 0;
	case OPT_CGROUP: c->cgroup_path = arg; return 0;
	case OPT_METRICS: c->metrics_file = arg; return *arg == '/' ? 0 : -1;
	case OPT_STATE: c->state_dir = arg; return *arg == '/' ? 0 : -1;
	case OPT_SWEEP: return set_cmd(c, FCGI_CMD_SWEEP);
	case OPT_LIST: return set_cmd(c, FCGI_CMD_LIST);
	case OPT_PURGE: return set_cmd(c, FCGI_CMD_PURGE);
	case OPT_TRUST_SID: c->trust_session_id = true; return 0;
	case OPT_WARM: c->warm_runtime = arg; return *arg ? 0 : -1;
	case OPT_WARM_FORK:
		c->warm_fork = strcmp(arg, "on") == 0;
		return c->warm_fork || strcmp(arg, "off") == 0 ? 0 : -1;
	case OPT_CPU_AFFINITY:
		c->cpu_home = strcmp(arg, "auto") == 0;
		return c->cpu_home || strcmp(arg, "off") == 0 ? 0 : -1;
	case OPT_REQUIRE_CG: c->require_cgroup = true; return 0;
	case OPT_DEGRADED: c->allow_degraded_limits = true; return 0;
	case OPT_BACKLOG:
		if (num_parse_u64(arg, &v) < 0 || v < 1 || v > 65535)
			return -1;
		c->backlog = (int)v;
		return 0;
	case OPT_POOL:
		if (num_parse_u64(arg, &v) < 0 || v < 1 || v > 4096)
			return -1;
		c->pool_size = (unsigned)v;
		return 0;
	default:
		if (opt >= OPT_NUM_BASE && opt < OPT_NUM_BASE + (int)N_NUM_FLAGS)
			return set_num(c, &num_flags[opt - OPT_NUM_BASE], arg);
		if (opt >= OPT_CB_BASE) {
			char msg[8];

			/* the caller words the message, as for every flag */
			return cb_config_option(&c->cb, cb_option_names[opt - OPT_CB_BASE], arg, msg,
			                        sizeof msg) == 1 ? 0 : -1;
		}
		return -1;
	}
}

enum cfg_result fcgi_cfg_parse(struct fcgi_cfg *c, int argc, char **argv,
                               char *msg, size_t msglen)
{
	struct option *opts = build_options();
	enum cfg_result rc = CFG_OK;
	int opt, idx = 0;

	if (!opts) {
		snprintf(msg, msglen, "out of memory");
		return CFG_ERROR;
	}
	optind = 1;
	opterr = 0;
	while (rc == CFG_OK && (opt = getopt_long(argc, argv, "h", opts, &idx)) != -1) {
		if (opt == 'h' || opt == OPT_HELP) {
			rc = CFG_HELP;
		} else if (opt == OPT_VERSION) {
			rc = CFG_VERSION;
		} else if (opt == '?' || opt == ':') {
			snprintf(msg, msglen, "unknown option or missing value: '%s'",
			         argv[optind - 1]);
			rc = CFG_ERROR;
		} else if (apply_opt(c, opt, optarg) < 0) {
			/* The option by its name: argv[optind - 1] is its value
			 * when that came as a separate word. */
			snprintf(msg, msglen, "invalid value '%s' for '--%s'",
			         optarg ? optarg : "", opts[idx].name);
			rc = CFG_ERROR;
		}
	}
	free(opts);
	if (rc == CFG_OK && optind < argc) {
		snprintf(msg, msglen, "unexpected argument '%s'", argv[optind]);
		rc = CFG_ERROR;
	}
	if (rc == CFG_OK && check_ranges(c, msg, msglen) < 0)
		rc = CFG_ERROR;
	if (rc == CFG_OK && cb_config_finish(&c->cb, false, msg, msglen) < 0)
		rc = CFG_ERROR;
	return rc;
}

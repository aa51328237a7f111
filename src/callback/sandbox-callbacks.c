/*
 * sandbox-callbacks.c - the callback deliverer: sends the pending callbacks
 * of STATE/callbacks (src/callback/cb.h) from the host's network. The
 * responders cannot: jail_new() moves each into a network namespace of its
 * own with only "lo" (docs/SECURITY.md), where no callback receiver is
 * reachable. Run it as a service (the default: loops, polling the store) or
 * from a timer (--once). It needs the secret file; the responders do not.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "callback/cb.h"
#include "common/num.h"
#include "fcgi/log.h"

struct opts {
	const char *state_dir;
	bool once;
	uint64_t poll_ms;
	unsigned batch;
	struct cb_config cb;
};

static volatile sig_atomic_t stop;

static void on_term(int sig)
{
	(void)sig;
	stop = 1;
}

static void help(FILE *f)
{
	fprintf(f,
	        "usage: sandbox-callbacks --state-dir DIR [--once] [OPTION...]\n"
	        "Delivers the callbacks of asynchronous runs queued under DIR/callbacks by\n"
	        "sandbox-fcgi: a signed POST each, retried with exponential backoff.\n\n"
	        "  --state-dir DIR                the responders' --state-dir (required)\n"
	        "  --once                         one pass over what is due, then exit (for a\n"
	        "                                 timer); default: run until SIGTERM\n"
	        "  --poll-ms N                    look for new callbacks this often (default 1000)\n"
	        "  --batch N                      attempts per pass (default 16)\n");
	cb_config_help(f);
	fprintf(f, "  -h, --help                     this text\n"
	        "  --version                      the version\n\n"
	        "Exit status: 0 after a clean stop or --once, 1 when start-up fails, 2 on a\n"
	        "usage error.\n");
}

enum { O_STATE = 1000, O_ONCE, O_POLL, O_BATCH, O_HELP, O_VERSION, O_CB = 2000 };

static int parse(struct opts *o, int argc, char **argv, char *msg, size_t len)
{
	struct option lo[32] = {
		{ "state-dir", required_argument, NULL, O_STATE },
		{ "once", no_argument, NULL, O_ONCE },
		{ "poll-ms", required_argument, NULL, O_POLL },
		{ "batch", required_argument, NULL, O_BATCH },
		{ "help", no_argument, NULL, O_HELP },
		{ "version", no_argument, NULL, O_VERSION },
	};
	size_t n = 6;
	uint64_t v;
	int opt, idx = 0;

	for (size_t i = 0; cb_option_names[i] && n < 31; i++, n++)
		lo[n] = (struct option){ cb_option_names[i], required_argument, NULL, O_CB + (int)i };
	opterr = 0;
	while ((opt = getopt_long(argc, argv, "h", lo, &idx)) != -1) {
		if (opt == 'h' || opt == O_HELP) {
			help(stdout);
			exit(0);
		} else if (opt == O_VERSION) {
			printf("sandbox-callbacks %s\n", PACKAGE_VERSION);
			exit(0);
		} else if (opt == O_STATE) {
			o->state_dir = optarg;
		} else if (opt == O_ONCE) {
			o->once = true;
		} else if (opt == O_POLL || opt == O_BATCH) {
			if (num_parse_u64(optarg, &v) < 0 || v < 1 || v > 3600000) {
				snprintf(msg, len, "invalid value '%s' for '--%s'", optarg, lo[idx].name);
				return -1;
			}
			if (opt == O_POLL)
				o->poll_ms = v;
			else
				o->batch = (unsigned)v;
		} else if (opt >= O_CB) {
			if (cb_config_option(&o->cb, lo[idx].name, optarg, msg, len) < 0)
				return -1;
		} else {
			snprintf(msg, len, "unknown option or missing value: '%s'", argv[optind - 1]);
			return -1;
		}
	}
	if (optind < argc) {
		snprintf(msg, len, "unexpected argument '%s'", argv[optind]);
		return -1;
	}
	if (!o->state_dir) {
		snprintf(msg, len, "--state-dir is required");
		return -1;
	}
	return 0;
}

static void start_failed(const char *step, const char *msg)
{
	log_event("error", "sandbox.callbacks.start.failed",
	          json_pack("{s:s, s:s}", "step", step, "message", msg));
}

static void sleep_ms(uint64_t ms)
{
	struct timespec ts = { .tv_sec = (time_t)(ms / 1000), .tv_nsec = (long)(ms % 1000) * 1000000 };

	nanosleep(&ts, NULL);   /* SIGTERM cuts it short (no SA_RESTART) */
}

static int loop(struct opts *o, struct cb_store *st)
{
	do {
		struct cb_error e;
		unsigned delivered = 0;
		int64_t next;

		if (cb_pump(st, &o->cb, (int64_t)time(NULL), o->batch, &delivered, &e) < 0) {
			log_event("error", "sandbox.callback.store_failed",
			          json_pack("{s:s, s:i}", "message", e.msg, "errno", e.err));
			return -1;
		}
		if (o->once || stop)
			break;
		next = cb_next_due(st, (int64_t)time(NULL));
		if (next == 0 && delivered < o->batch)
			next = 1;   /* due but busy (another deliverer): do not spin */
		sleep_ms(next > 0 && (uint64_t)next * 1000 < o->poll_ms ? (uint64_t)next * 1000
		                                                          : o->poll_ms);
	} while (!stop);
	return 0;
}

int main(int argc, char **argv)
{
	struct opts o = { .poll_ms = 1000, .batch = 16 };
	struct sigaction sa;
	struct cb_store st = { .dirfd = -1 };
	char msg[512];
	int rc;

	cb_config_defaults(&o.cb);
	o.cb.log = log_event;
	if (parse(&o, argc, argv, msg, sizeof msg) < 0) {
		fprintf(stderr, "sandbox-callbacks: %s (try 'sandbox-callbacks --help')\n", msg);
		return 2;
	}
	if (cb_config_finish(&o.cb, true, msg, sizeof msg) < 0) {
		start_failed("config", msg);
		return 1;
	}
	if (o.cb.nallow == 0)
		log_event("warning", "sandbox.callbacks.disabled",
		          json_pack("{s:s}", "message", "no --callback-allow: every pending callback "
		                    "fails as not allowed and is given up"));
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_term;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	if (cb_global_init() < 0) {
		start_failed("curl_global_init", "failed");
		return 1;
	}
	{
		struct cb_error e;

		if (cb_store_open(o.state_dir, &st, &e) < 0) {
			start_failed("state directory", e.msg);
			cb_global_cleanup();
			return 1;
		}
	}
	rc = loop(&o, &st);
	cb_store_close(&st);
	cb_global_cleanup();
	return rc < 0 ? 1 : 0;
}

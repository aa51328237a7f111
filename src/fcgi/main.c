/*
 * main.c - sandbox-fcgi: a FastCGI responder that answers one request at a
 * time. Start-up does the expensive work once (flags, RootFS registry,
 * jail_new: seccomp compilation, cgroups, namespaces); each request does
 * only its own work. The pool (N processes on one listening socket, a
 * crashed one replaced) is spawn-fcgi + multiwatch, not this program.
 */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <fcgiapp.h>

#include "config.h"
#include "fcgi/log.h"
#include "fcgi/mem.h"
#include "api/resp.h"
#include "fcgi/svc.h"

/* The one report of a failed start-up step: the step, its message, and
 * for jail_new() the jail's own step and errno. */
static void start_failed(const char *what, const char *detail, const struct jail_error *e)
{
	log_event("error", "sandbox.start.failed",
	          e ? json_pack("{s:s, s:s, s:i, s:s}", "step", what, "jail_step", e->step,
	                        "errno", e->err, "message", detail)
	            : json_pack("{s:s, s:s}", "step", what, "message", detail));
}

/* A no-op handler rather than SIG_IGN: writing to a FastCGI stream whose
 * peer left must return EPIPE instead of killing the responder, but an
 * ignored disposition would be inherited through execve by the jailed
 * program, while a handled one is reset to the default there. */
static void on_sigpipe(int sig)
{
	(void)sig;
}

/* SIGALRM ends our own accept() early (accept_brief); no SA_RESTART, so
 * that the call returns EINTR. Like SIGPIPE's, reset to the default for
 * the jailed program by execve. */
static void on_sigalrm(int sig)
{
	(void)sig;
}

/* multiwatch's graceful stop (SIGUSR1, its --signal default) and SIGTERM:
 * no new work; a synchronous request being answered is finished, an async
 * run being executed is stopped and queued again (svc_async_on_stop_signal).
 * Installed after FCGX_Init(), replacing libfcgi's, whose flag our own
 * loop cannot read. No SA_RESTART: poll() and accept() return EINTR. */
static void on_stop(int sig)
{
	(void)sig;
	svc_async_on_stop_signal();
}

static int setup_stop_signals(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_stop;
	sigemptyset(&sa.sa_mask);
	return sigaction(SIGUSR1, &sa, NULL) == 0 && sigaction(SIGTERM, &sa, NULL) == 0 ? 0 : -1;
}

static int setup_signals(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_sigpipe;
	sa.sa_flags = SA_RESTART;
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGPIPE, &sa, NULL) != 0)
		return -1;
	sa.sa_handler = on_sigalrm;
	sa.sa_flags = 0;
	return sigaction(SIGALRM, &sa, NULL);
}

/* Request parsing must never run with host root privileges (see
 * docs/SECURITY.md (privilege model)): the jail works through a user namespace, so
 * root buys nothing but risk. spawn-fcgi -u/-g or systemd User= drop it. */
static int refuse_root(void)
{
	if (getuid() != 0 && geteuid() != 0 && getgid() != 0 && getegid() != 0)
		return 0;
	start_failed("privileges", "refusing to run as root (uid or gid 0); start the "
	             "responders as the unprivileged service user (spawn-fcgi -u/-g, "
	             "systemd User=/Group=)", NULL);
	return -1;
}

static int open_listener(const struct fcgi_cfg *c)
{
	int fd;

	if (!c->socket)
		return 0;  /* FCGI_LISTENSOCK_FILENO, handed over by spawn-fcgi */
	/* Before jail_new(): it moves this process into an empty network
	 * namespace, where a TCP socket would be unreachable. */
	fd = FCGX_OpenSocket(c->socket, c->backlog);
	if (fd < 0)
		start_failed("listen", c->socket, NULL);
	return fd;
}

/* The operator allowed degraded limits and got them: say so once, loudly,
 * with what replaces the cgroup limits (docs/SECURITY.md, cgroups). */
static void log_degraded(const struct jail_info *ji)
{
	if (!ji->limits_degraded)
		return;
	log_event("warning", "sandbox.start.limits_degraded",
	          json_pack("{s:o, s:s, s:s}", "degraded_limits", resp_degraded(ji),
	                    "cgroup", jail_cgroup_mode_name(ji->cgroup),
	                    "message", "--allow-degraded-limits: these limits are per-process "
	                    "rlimits (memory: RLIMIT_AS per process, tmpfs not counted; "
	                    "processes: RLIMIT_NPROC; cpu: RLIMIT_CPU per process)"));
}

/* Each responder on a CPU of its own (src/jail/cpus.c): the n-th of the
 * allowed set for the n-th slot of the pool's metrics file, where slots
 * are claimed lowest first, so a pool of as many responders as CPUs
 * spreads over all of them.  Without a shared file the pid picks.  Not
 * fatal: without it the responder runs as before, only slower. */
static void start_home_cpu(struct svc *s)
{
	struct jail_error e;
	int cpu = -1;
	unsigned n = s->met.slot >= 0 && s->met.shared ? (unsigned)s->met.slot : (unsigned)getpid();

	if (!s->cfg.cpu_home)
		return;
	memset(&e, 0, sizeof e);
	if (jail_pin_home_cpu(s->jail, n, &cpu, &e) < 0)
		log_event("warning", "sandbox.start.home_cpu",
		          json_pack("{s:s, s:i, s:s}", "step", e.step, "errno", e.err,
		                    "message", e.detail));
	else
		log_event("info", "sandbox.start.home_cpu", json_pack("{s:i}", "cpu", cpu));
}

static int start_jail(struct svc *s)
{
	struct jail_config jc;
	struct jail_error e;

	memset(&jc, 0, sizeof jc);
	memset(&e, 0, sizeof e);
	jc.host_uid = getuid();
	jc.host_gid = getgid();
	jc.cgroup_path = s->cfg.cgroup_path;
	/* Every responder of the pool maps its jails to our uid: each run
	 * gets 1/pool of this user's kernel quotas (src/jail/quota.c). */
	jc.concurrent_jails = s->cfg.pool_size;
	jc.require_cgroup = s->cfg.require_cgroup;
	jc.allow_degraded_limits = s->cfg.allow_degraded_limits;
	jc.clone_mode = jail_clone_mode_parse(getenv(JAIL_CLONE_MODE_ENV));
	jc.warm_fork = s->cfg.warm_fork;
	s->jail = jail_new(&jc, &e);
	if (s->jail) {
		log_degraded(jail_get_info(s->jail));
		start_home_cpu(s);
		return 0;
	}
	start_failed("jail_new", e.detail, &e);
	return -1;
}

/* The pool's shared metrics file. Not fatal: without it the metrics cover
 * this responder only (sandbox_metrics_shared 0), and the jobs still run. */
static void start_metrics(struct svc *s)
{
	char msg[256] = "";
	int rc = met_shm_open(&s->met, s->cfg.metrics_file, msg, sizeof msg);

	if (rc < 0 || msg[0] != '\0')
		log_event("warning", "sandbox.start.metrics",
		          json_pack("{s:s, s:s, s:b}", "file", s->cfg.metrics_file,
		                    "message", msg, "shared", s->met.shared));
}

static int start(struct svc *s)
{
	char msg[256] = "";
	const char *why = NULL;

	if (svc_store_open(s, msg, sizeof msg) < 0) {
		start_failed("state_dir", msg, NULL);
		return -1;
	}

	if (rt_registry_load(s->cfg.rootfs_base, &s->reg, msg, sizeof msg) < 0) {
		start_failed("rootfs", msg, NULL);
		return -1;
	}
	if (!rt_find_template(&s->reg, s->cfg.template_name)) {
		snprintf(msg, sizeof msg, "template '%s' not found under '%s'",
		         s->cfg.template_name, s->cfg.rootfs_base);
		start_failed("rootfs", msg, NULL);
		return -1;
	}
	regw_open(&s->regw, s->cfg.rootfs_base, &why);
	if (why)
		log_event("warning", "sandbox.start.rootfs_watch",
		          json_pack("{s:s, s:s}", "rootfs_base", s->cfg.rootfs_base, "message", why));
	start_metrics(s);
	/* Before jail_new(): the state directory as the host sees it. */
	svc_async_open(s);
	return start_jail(s);
}

/* Whether a connection waits on the listening socket, within timeout_ms. */
static bool conn_waiting(int listen_fd, int timeout_ms)
{
	struct pollfd p = { .fd = listen_fd, .events = POLLIN };

	return poll(&p, 1, timeout_ms) > 0 && (p.revents & POLLIN);
}

/* accept() for at most 200 ms. Every idle responder's poll() wakes up for
 * one connection and only one accept() gets it; the others must not block
 * in accept() (the shared socket is blocking, and making it non-blocking
 * would change it for the whole pool), or none would notice queued async
 * runs until the next connections came. A one-shot timer's SIGALRM makes
 * the losers' accept() return EINTR. Only around our own accept(): never
 * while libfcgi reads a request, whose reads do not retry on EINTR. */
static int accept_brief(int listen_fd)
{
	struct itimerval it;
	int fd, err, one = 1;

	memset(&it, 0, sizeof it);
	it.it_value.tv_usec = 200000;
	setitimer(ITIMER_REAL, &it, NULL);
	fd = accept4(listen_fd, NULL, NULL, SOCK_CLOEXEC);
	err = errno;
	memset(&it, 0, sizeof it);
	setitimer(ITIMER_REAL, &it, NULL);
	/* As libfcgi's own accept does for TCP (no-op on a unix socket). */
	if (fd >= 0)
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	errno = err;
	return fd;
}

/* The warm spec of runtime rt_name in template tmpl_name: s->warm made
 * again when the runtime or template changed, or the template's tree did
 * (a new `current`), or none was made yet; NULL when that runtime has no
 * warm interpreter. */
static const struct jail_warm_spec *warm_spec_of(struct svc *s, const char *rt_name,
                                                 const char *tmpl_name)
{
	const struct rt_template *t = rt_find_template(&s->reg, tmpl_name);
	const struct rt_runtime *rt = t ? rt_find_runtime(t, rt_name) : NULL;

	if (!rt || !req_warm_supported(rt))
		return NULL;
	char *key = req_warm_key(t, rt);
	bool same = key && s->warm.key && strcmp(key, s->warm.key) == 0;

	free(key);
	if (same)
		return &s->warm.spec;
	req_warm_free(&s->warm);
	if (req_warm_make(t, rt, &s->cfg.req, &s->warm) < 0)
		return NULL;
	snprintf(s->warm_rt, sizeof s->warm_rt, "%s", rt->name);
	snprintf(s->warm_tmpl, sizeof s->warm_tmpl, "%s", t->name);
	return &s->warm.spec;
}

/* What jail_idle_warm() starts: --warm-runtime NAME of --template (or
 * NAME@TEMPLATE); auto: the runtime and template used most in this
 * responder's recent runs (warm_pick.c), else (none yet, or it has no
 * warm interpreter: a node template without the bootstrap) python of
 * --template; none: nothing.  Off, or impossible here (fork mode,
 * degraded limits): /info then says runtime null, and no run counts as a
 * hit or a miss. */
static const struct jail_warm_spec *warm_spec(struct svc *s)
{
	const char *rt_name = s->cfg.warm_runtime, *tmpl_name = s->cfg.template_name;
	const struct jail_warm_spec *w = NULL;
	bool automatic = strcmp(rt_name, "auto") == 0;
	char named[96];
	const char *at = strchr(rt_name, '@');

	if (at && (size_t)snprintf(named, sizeof named, "%s", rt_name) < sizeof named) {
		named[at - rt_name] = '\0';
		rt_name = named;
		tmpl_name = named + (at - s->cfg.warm_runtime) + 1;
	}
	if (strcmp(rt_name, "none") != 0 && jail_can_warm(s->jail)) {
		if (!automatic || warm_pick_best(&s->warm_pick, &rt_name, &tmpl_name))
			w = warm_spec_of(s, rt_name, tmpl_name);
		if (!w && automatic)
			w = warm_spec_of(s, "python", s->cfg.template_name);
	}
	if (!w)
		req_warm_free(&s->warm);
	return w;
}

/* A zygote's fork (src/jail/zygote.c) costs a fraction of a start-up:
 * worth making even when the pool is saturated. */
static bool warm_forked(const struct svc *s, const struct jail_warm_spec *w)
{
	return jail_get_info(s->jail)->warm_fork && w->fork_boot;
}

static void idle_work(struct svc *s)
{
	struct jail_error ie;

	svc_mem_release();
	/* The answer is out: clean up after this job and prepare the next
	 * one's mounts, cgroup, pid 1 and warm interpreter off the request
	 * path. A failure here is not fatal (the next job runs cold, and
	 * jail_run() does the rest itself) but is logged. */
	svc_refresh_registry(s);
	const struct jail_warm_spec *w = warm_spec(s);
	/* A request already waiting while every other responder is running
	 * one means the pool is saturated: there is no idle time to hide an
	 * interpreter's start in.  Started now, it would be ready no sooner
	 * than the waiting request's own cold start, and a request it does
	 * not fit (another runtime) would discard it: a whole start-up's CPU
	 * lost exactly when CPU is short (docs/PERFORMANCE.md, "The saturated
	 * target").  So the stage is made without one; serve() starts it if
	 * this responder then finds itself idle (another took the request).
	 * An idle responder elsewhere will take the waiting request itself. */
	s->warm_deferred = w && conn_waiting(s->listen_fd, 0) && !met_shm_other_idle(&s->met) &&
	                   !warm_forked(s, w);
	if (jail_idle_warm(s->jail, s->warm_deferred ? NULL : w, &ie) < 0)
		log_event("warning", "sandbox.idle.failed",
		          json_pack("{s:s, s:i, s:s}", "step", ie.step, "errno", ie.err,
		                    "detail", ie.detail));
	/* Expired sessions, at most every SVC_SWEEP_EVERY_S per responder
	 * (docs/SESSIONS.md, "Expiry"). */
	svc_sweep_idle(s);
}

/* Waits for the next connection and hands it to libfcgi: 1 with a request
 * accepted into *fx, 0 when there is none (yet), -1 when the socket failed.
 * libfcgi skips its own accept() for a request whose ipcFd is open;
 * keepConnection keeps FCGX_Accept_r's opening FCGX_Finish_r from closing
 * it (the request's own FCGI_KEEP_CONN flag replaces it).  A connection
 * that ends before it carries a request (nginx closes it when its client
 * gives up while the request is queued) makes libfcgi close it and accept
 * another itself, on the request's listen_sock: serve() gives it -1, so
 * that accept() fails at once and we get 0 (nothing to serve), instead of
 * a blocking accept() on the pool's socket that retries on EINTR: neither
 * a stop signal nor the async queue could reach the responder until the
 * next connection (tests/integration/test_warm_node.py).  Its EBADF is
 * the one failure that is the connection's, not the socket's. */
static int next_request(struct svc *s, int listen_fd, FCGX_Request *fx)
{
	int fd;

	if (!conn_waiting(listen_fd, 1000))
		return 0;
	fd = accept_brief(listen_fd);
	if (fd < 0)
		return errno == EINTR || errno == EAGAIN || errno == ECONNABORTED ||
		       errno == EPROTO || errno == ENETDOWN || errno == EHOSTUNREACH ? 0 : -1;
	fx->ipcFd = fd;
	fx->keepConnection = 1;
	int rc = FCGX_Accept_r(fx);

	if (rc >= 0)
		return 1;
	if (rc != -EBADF)
		return -1;
	log_event("info", "sandbox.request.abandoned",
	          json_pack("{s:s}", "detail", "connection closed before its request was read"));
	return 0;
}

/* One responder's life: a waiting synchronous request and the oldest queued
 * async run (when an async slot is free) take turns; with neither, wait for
 * a connection, or up to 1 s for the queue, sweeping the kept runs now and
 * then. */
static void serve(struct svc *s, int listen_fd)
{
	FCGX_Request fx;
	bool served_sync = false;
	int rc;

	FCGX_InitRequest(&fx, -1, 0);   /* never libfcgi's own accept: next_request */
	s->listen_fd = listen_fd;
	idle_work(s);                 /* the first job's jail and warm interpreter */
	log_event("info", "sandbox.start.ready",
	          json_pack("{s:s, s:s, s:s, s:s, s:b, s:o, s:b}", "version", PACKAGE_VERSION,
	                    "template", s->cfg.template_name, "rootfs_base", s->cfg.rootfs_base,
	                    "cgroup", jail_cgroup_mode_name(jail_get_info(s->jail)->cgroup),
	                    "limits_degraded", jail_get_info(s->jail)->limits_degraded,
	                    "degraded_limits", resp_degraded(jail_get_info(s->jail)),
	                    "async", s->aq_ok));
	while (!svc_stopping()) {
		/* After a synchronous request, one queued async run (when a slot
		 * is free) before the next request: a flood of synchronous
		 * requests, which always has one waiting, cannot starve the async
		 * queue. After an async run, a waiting request first. */
		if ((served_sync || !conn_waiting(listen_fd, 0)) && svc_async_work(s)) {
			served_sync = false;
			idle_work(s);
			continue;
		}
		served_sync = false;
		svc_async_idle(s);
		rc = next_request(s, listen_fd, &fx);
		if (rc < 0 && !svc_stopping())
			break;
		if (rc == 0 && s->warm_deferred)
			idle_work(s);         /* idle after all: its interpreter now */
		if (rc <= 0)
			continue;
		svc_dispatch(s, &fx);
		FCGX_Finish_r(&fx);
		idle_work(s);
		served_sync = true;
	}
	log_event("info", "sandbox.stop",
	          json_pack("{s:s}", "reason", svc_stopping() ? "signal" : "accept failed"));
}

int main(int argc, char **argv)
{
	static struct svc s;
	char msg[256] = "";
	int fd;

	svc_mem_init();
	fcgi_cfg_defaults(&s.cfg);
	switch (fcgi_cfg_parse(&s.cfg, argc, argv, msg, sizeof msg)) {
	case CFG_HELP:
		fcgi_cfg_help(stdout);
		return fflush(stdout) == 0 ? 0 : 1;
	case CFG_VERSION:
		fcgi_cfg_version(stdout);
		return fflush(stdout) == 0 ? 0 : 1;
	case CFG_ERROR:
		fcgi_cfg_usage_error(stderr, msg);
		return 2;
	case CFG_OK:
		break;
	}
	/* Operator commands work on the state directory alone: no jail, no
	 * socket; run by root they become the directory's owner first. */
	if (s.cfg.cmd != FCGI_CMD_SERVE)
		return svc_command(&s);
	if (refuse_root() < 0 || setup_signals() < 0 || FCGX_Init() != 0 ||
	    setup_stop_signals() < 0)
		return 1;
	fd = open_listener(&s.cfg);
	if (fd < 0 || start(&s) < 0)
		return 1;
	serve(&s, fd);
	jail_free(s.jail);
	req_warm_free(&s.warm);
	rt_registry_free(&s.reg);
	regw_close(&s.regw);
	ses_store_close(&s.store);
	return 0;
}

/*
 * supervise.c - one step, seen from the caller: start its jail (launch.c),
 * feed stdin, capture stdout/stderr within their caps, enforce the
 * wall-clock and CPU limits and the cancel fd, then kill, reap and make
 * the step's result.
 *
 * The end of a step is the end of pid 1: the kernel then kills every other
 * process of the pid namespace (double-forked, setsid'd, stopped, or
 * ignoring SIGTERM alike) and reaps them before pid 1 can be reaped.  So
 * once waitpid(pid 1) returns, no process of the jail is left, every write
 * end of the output pipes is closed, and reading to EOF cannot hang on a
 * leftover grandchild (fcgiwrap issue #40).
 */
#include "jail/jail_private.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "jail/init.h"

#define SUP_CHUNK 65536
#define SUP_CPU_POLL_MS 20
#define SUP_CANCEL_POLL_MS 50          /* the cancelled hook: at most every 100 ms promised */

struct sup_stream {
	int fd;
	struct jail_buf *buf;
	uint64_t cap;
	size_t alloc;
	/* Live output (jail_spec.on_output); NULL: none. */
	const struct jail_spec *spec;
	size_t step;
	int id;                        /* 1 stdout, 2 stderr */
};

struct sup {
	struct init_args a;
	pid_t init_pid;
	struct cg_run *cg;
	struct sup_stream out, err;
	const unsigned char *in_data;
	size_t in_len, in_off;
	const unsigned char *pre_data; /* a warm interpreter's job, before stdin */
	size_t pre_len, pre_off;
	uint64_t cpu_base_us;          /* the cgroup's CPU time before the step */
	struct init_msg exit_msg;
	bool exited, timed_out, init_gone, cancelled;
	int cancel_fd;                 /* -1: none */
	const struct jail_work_hooks *hooks; /* with a cancelled hook, or NULL */
	uint64_t t_start_us, t_end_us;
};

/* ---- output capture: keep the first `cap` bytes, drain the rest ---- */

/* At most this many read()s of at most SUP_CHUNK per stream per turn of
 * sup_loop, which then looks at the clock and the cancel fd again.
 * Reading until EAGAIN was unbounded: many processes writing with
 * vmsplice (the pipe takes their pages, no copy on their side) refill a
 * 1 MiB pipe faster than we can copy it out, so it is never empty: a 1 s
 * limit ran for 16 s, a client's hang-up was seen seconds late or never
 * (tests/jail: test_flood_cannot_delay_*).  4 x 64 KiB per stream is well
 * under a millisecond of copying, and few enough system calls that 1-byte
 * writes cannot stretch it either. */
#define SUP_READS_PER_TURN 4

/* Hands bytes kept (within the cap) to the live output callback. */
static void sup_stream_tell(const struct sup_stream *s, const char *data, size_t len)
{
	if (s->spec && s->spec->on_output)
		s->spec->on_output(s->spec->output_arg, s->step, s->id, data, len);
}

/* Reads what is there, up to `max_reads` read()s; 0 when more may follow,
 * -1 when out of memory.  The stream's fd is closed at EOF or error. */
static int sup_stream_read(struct sup_stream *s, unsigned max_reads)
{
	char scratch[SUP_CHUNK];
	for (unsigned i = 0; i < max_reads; i++) {
		struct jail_buf *b = s->buf;
		size_t room = b->len < s->cap ? (size_t)(s->cap - b->len) : 0;
		char *dst = scratch;
		size_t want = sizeof scratch;
		if (room > 0) {
			size_t need = b->len + (room < SUP_CHUNK ? room : SUP_CHUNK) + 1;
			if (need > s->alloc) {
				size_t na = s->alloc ? s->alloc * 2 : SUP_CHUNK;
				while (na < need)
					na *= 2;
				char *nb = realloc(b->data, na);
				if (!nb)
					return -1;
				b->data = nb;
				s->alloc = na;
			}
			dst = b->data + b->len;
			want = room < SUP_CHUNK ? room : SUP_CHUNK;
		}
		ssize_t n = read(s->fd, dst, want);
		if (n > 0) {
			if (room > 0) {
				sup_stream_tell(s, dst, (size_t)n);
				b->len += (size_t)n;
			} else
				b->truncated = true;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return 0;
		s->fd = fd_close(s->fd);   /* EOF or error: the stream is done */
		return 0;
	}
	return 0;
}

static void sup_stdin(struct sup *s)
{
	while (s->pre_off < s->pre_len) {
		ssize_t n = write(s->a.in_wr, s->pre_data + s->pre_off, s->pre_len - s->pre_off);
		if (n > 0) {
			s->pre_off += (size_t)n;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return;
		s->in_off = s->in_len;     /* EPIPE: the interpreter is gone */
		break;
	}
	while (s->in_off < s->in_len) {
		ssize_t n = write(s->a.in_wr, s->in_data + s->in_off, s->in_len - s->in_off);
		if (n > 0) {
			s->in_off += (size_t)n;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return;
		break;                     /* EPIPE: the program closed its stdin */
	}
	s->a.in_wr = fd_close(s->a.in_wr);
}

/* ---- the end of pid 1 ---- */

static void sup_kill_init(struct sup *s)
{
	if (s->init_pid > 0 && !s->init_gone)
		kill(s->init_pid, SIGKILL);
	cg_run_kill(s->cg);
}

static void sup_reap_init(struct sup *s)
{
	if (s->init_pid <= 0 || s->init_gone)
		return;
	proc_reap(s->init_pid);
	s->init_gone = true;
}

/* ---- the loop ---- */

static void sup_read_report(struct sup *s)
{
	struct init_msg m;
	ssize_t n = read(s->a.rep_rd, &m, sizeof m);
	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return;
	if (n == (ssize_t)sizeof m && m.kind == INIT_MSG_EXITED) {
		int exec_errno = s->exit_msg.exec_errno;
		s->exit_msg = m;
		s->exit_msg.exec_errno = exec_errno;
		s->exited = true;
	}
	s->t_end_us = mono_us();
	s->a.rep_rd = fd_close(s->a.rep_rd); /* one exit report, or EOF: pid 1 is gone */
}

static bool sup_cpu_over(struct sup *s, uint64_t limit_us)
{
	uint64_t us;
	return cg_run_cpu_us(s->cg, &us) == 0 && us >= s->cpu_base_us + limit_us;
}

/* Every turn is bounded (SUP_READS_PER_TURN per stream; stdin is at most
 * the request's own input), so the deadline and the cancel fd are looked
 * at again within a fraction of a millisecond however the program writes.
 * The CPU time, a cgroup file, at most every SUP_CPU_POLL_MS: a busy
 * stream makes many turns. */
static void sup_loop(struct sup *s, const struct jail_limits *l)
{
	uint64_t deadline = s->t_start_us + l->wall_time_ms * 1000u;
	uint64_t cpu_limit_us = (l->cpu_time_ms ? l->cpu_time_ms : l->wall_time_ms) * 1000u;
	bool check_cpu = s->cg && l->cpu_time_ms;
	uint64_t next_cpu_check = 0, next_hook_check = 0;
	while (s->a.rep_rd >= 0) {
		uint64_t now = mono_us();
		bool cpu_over = false;
		if (s->hooks && now >= next_hook_check) {
			next_hook_check = now + SUP_CANCEL_POLL_MS * 1000u;
			if (s->hooks->cancelled(s->hooks->arg)) {
				s->cancelled = true;
				s->t_end_us = now;
				break;
			}
		}
		if (check_cpu && now >= next_cpu_check) {
			cpu_over = sup_cpu_over(s, cpu_limit_us);
			next_cpu_check = now + SUP_CPU_POLL_MS * 1000u;
		}
		if (now >= deadline || cpu_over) {
			s->timed_out = true;
			s->t_end_us = now;
			break;
		}
		uint64_t wait_ms = (deadline - now + 999) / 1000;
		if (check_cpu && wait_ms > SUP_CPU_POLL_MS)
			wait_ms = SUP_CPU_POLL_MS;
		if (s->hooks && wait_ms > SUP_CANCEL_POLL_MS)
			wait_ms = SUP_CANCEL_POLL_MS;
		struct pollfd p[5];
		int np = 0;
		p[np++] = (struct pollfd){ .fd = s->a.rep_rd, .events = POLLIN };
		p[np++] = (struct pollfd){ .fd = s->out.fd, .events = POLLIN };
		p[np++] = (struct pollfd){ .fd = s->err.fd, .events = POLLIN };
		p[np++] = (struct pollfd){ .fd = s->a.in_wr, .events = POLLOUT };
		/* Only the hang-up: data on it is the caller's, and is left unread. */
		p[np++] = (struct pollfd){ .fd = s->cancel_fd, .events = POLLRDHUP };
		int r = poll(p, (nfds_t)np, (int)wait_ms);
		if (r < 0 && errno != EINTR)
			break;
		if (r <= 0)
			continue;
		if (p[4].revents & (POLLRDHUP | POLLHUP | POLLERR | POLLNVAL)) {
			s->cancelled = true;
			s->t_end_us = mono_us();
			break;
		}
		if (p[1].revents)
			sup_stream_read(&s->out, SUP_READS_PER_TURN);
		if (p[2].revents)
			sup_stream_read(&s->err, SUP_READS_PER_TURN);
		if (p[3].revents)
			sup_stdin(s);
		if (p[0].revents)
			sup_read_report(s);
	}
}

/* After pid 1 is reaped nothing can write any more: read what is left, at
 * most a pipe's size (1 MiB, /proc/sys/fs/pipe-max-size, is the most an
 * unprivileged program can ask for).  In the deferred-reap case pid 1 has
 * reported and is exiting: the kernel kills the rest of the namespace, so
 * EOF comes with that kill.  Blocking reads to EOF; out of memory stops
 * reading (it used to retry forever) and marks the output truncated. */
static void sup_drain(struct sup *s)
{
	struct sup_stream *st[] = { &s->out, &s->err };
	for (int i = 0; i < 2; i++) {
		if (st[i]->fd < 0)
			continue;
		fcntl(st[i]->fd, F_SETFL, 0);
		while (st[i]->fd >= 0)
			if (sup_stream_read(st[i], SUP_READS_PER_TURN) < 0) {
				st[i]->buf->truncated = true;
				break;
			}
	}
}

static void sup_result(struct sup *s, struct jail_step_result *out)
{
	struct cg_stats cs;
	cg_run_stats(s->cg, &cs);
	uint64_t end = s->t_end_us ? s->t_end_us : mono_us();
	out->wall_ms = (end - s->t_start_us + 500) / 1000;
	out->cpu_from_cgroup = cs.have_cpu;
	if (cs.have_cpu)
		cs.cpu_us = cs.cpu_us > s->cpu_base_us ? cs.cpu_us - s->cpu_base_us : 0;
	out->cpu_ms = cs.have_cpu ? cs.cpu_us / 1000 : (uint64_t)s->exit_msg.cpu_us / 1000;
	out->memory_from_cgroup = cs.have_peak;
	out->memory_peak_kb = cs.have_peak ? cs.memory_peak_bytes / 1024 : (uint64_t)s->exit_msg.maxrss_kb;
	out->exec_failed = s->exit_msg.exec_errno != 0;
	out->exec_errno = s->exit_msg.exec_errno;
	int st = s->exit_msg.wstatus;
	if (s->exited && WIFEXITED(st))
		out->exit_code = WEXITSTATUS(st);
	if (s->exited && WIFSIGNALED(st))
		out->signal = WTERMSIG(st);
	/* Timed out, cancelled, or pid 1 died first (OOM killer): all were
	 * killed with SIGKILL. A timed-out run used to say exit_code 0 and
	 * signal null, as if the program had ended well (docs/API.md: signal
	 * 9 after a timeout). */
	if (!s->exited)
		out->signal = SIGKILL;
	if (s->timed_out || out->signal == SIGXCPU)
		out->status = JAIL_TIMEOUT;
	else if (cs.oom_kills > 0)
		out->status = JAIL_MEMORY_LIMIT;
	else if (out->signal)
		out->status = JAIL_KILLED;
	else
		out->status = out->exit_code == 0 ? JAIL_SUCCESS : JAIL_ERROR;
}

/* The loop is over: pid 1 ends (or is left to end, defer_reap) and the
 * output is read to EOF. */
static void sup_end(struct sup *s, pid_t *defer_reap)
{
	if (defer_reap && s->exited && !s->timed_out && !s->cancelled) {
		/* pid 1 reported the exit and is exiting: the kernel kills
		 * what is left of the pid namespace, so the pipes reach EOF
		 * without us waiting for the namespaces' teardown, which
		 * jail_idle() then waits for off the request path. */
		sup_drain(s);
		*defer_reap = s->init_pid;
		s->init_gone = true;
	} else {
		sup_kill_init(s);          /* no-op when it already ended */
		sup_reap_init(s);
		sup_drain(s);
	}
}

void sup_reap_deferred(pid_t *pid)
{
	if (*pid > 0)
		proc_reap(*pid);
	*pid = 0;
}

int sup_run_step(struct jail *j, const struct jail_spec *spec, const struct jail_step *step,
                 const char *root, struct mnt_run *run, struct cg_run *cg,
                 struct launch_warm **warm, struct jail_step_result *out, pid_t *defer_reap,
                 bool *cancelled, struct jail_error *e)
{
	struct sup s;
	memset(&s, 0, sizeof s);
	s.cancel_fd = spec->cancel_on_hangup ? spec->cancel_fd : -1;
	if (spec->work_hooks && spec->work_hooks->cancelled)
		s.hooks = spec->work_hooks;
	memset(out, 0, sizeof *out);
	if (step->argv && step->argv[0])   /* cut to fit: it only names what failed */
		memcpy(out->exec_name, step->argv[0], strnlen(step->argv[0], sizeof out->exec_name - 1));
	s.cg = cg;
	if (cg_run_limits(cg, &step->limits, e) < 0) {
		if (warm)
			launch_warm_discard(warm);
		return -1;
	}
	/* A warm interpreter left here by jail.c fits this step (else it was
	 * discarded): its job goes first on its stdin, and the CPU time the
	 * cgroup counted so far (its start-up) is not the program's. */
	bool warm_job = warm && *warm && launch_warm_key(*warm);
	if (warm_job) {
		s.pre_data = spec->warm_frame;
		s.pre_len = spec->warm_frame_len;
		if (cg_run_cpu_us(cg, &s.cpu_base_us) < 0) {
			launch_warm_discard(warm);
			return util_fail(e, "warm handover", EIO, "cgroup CPU time");
		}
	}
	/* pid 1 reads this once told to go: a forked one from its copy of
	 * our memory, made in launch_step, a CLONE_VM one from ours. */
	j->handover = (struct init_handover){ .spec = spec, .step = step, .warm_job = warm_job };
	int rc = launch_step(j, root, run, cg, warm, &s.a, &s.init_pid, &s.exit_msg.exec_errno, e);
	j->handover = (struct init_handover){ 0 };
	if (rc == 0)
		s.t_start_us = mono_us();
	size_t step_i = (size_t)(step - spec->steps);
	s.out = (struct sup_stream){ .fd = s.a.out_rd, .buf = &out->out, .cap = step->limits.max_output_bytes,
	                             .spec = spec, .step = step_i, .id = 1 };
	s.err = (struct sup_stream){ .fd = s.a.err_rd, .buf = &out->err, .cap = step->limits.max_output_bytes,
	                             .spec = spec, .step = step_i, .id = 2 };
	s.in_data = step->stdin_data;
	s.in_len = step->stdin_data ? step->stdin_len : 0;
	if (rc == 0) {
		sup_stdin(&s);
		sup_loop(&s, &step->limits);
		sup_end(&s, defer_reap);
		sup_result(&s, out);
		if (s.cancelled)
			*cancelled = true;
	}
	s.a.out_rd = s.out.fd;
	s.a.err_rd = s.err.fd;
	launch_close_fds(&s.a);
	for (struct jail_buf *b = &out->out; b <= &out->err; b++) {
		if (!b->data)
			b->data = calloc(1, 1);
		else
			b->data[b->len] = '\0';
	}
	return rc;
}

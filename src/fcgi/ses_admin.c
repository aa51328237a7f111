/*
 * ses_admin.c - the session store of a responder: opened at start, swept
 * after answers (at most every SVC_SWEEP_EVERY_S), and the operator
 * commands --sweep-sessions, --list-sessions, --purge-sessions, which work
 * on the state directory alone (docs/OPERATIONS.md, "Sessions").
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <grp.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "fcgi/log.h"
#include "fcgi/ses_json.h"
#include "fcgi/svc.h"

int svc_store_open(struct svc *s, char *msg, size_t msglen)
{
	struct ses_error e;
	struct stat st;

	memset(&e, 0, sizeof e);
	s->store.sessfd = s->store.lockfd = -1;
	/* 0700: workspaces hold clients' files; only the service user reads
	 * them. Made here only when missing (its parent must exist: tmpfiles.d
	 * or the quick start makes it), and it must be ours: a directory of
	 * another user is a misconfiguration, refused at start. */
	if (stat(s->cfg.state_dir, &st) != 0 &&
	    (errno != ENOENT || mkdir(s->cfg.state_dir, 0700) != 0 ||
	     stat(s->cfg.state_dir, &st) != 0)) {
		snprintf(msg, msglen, "cannot create state directory '%s': %s", s->cfg.state_dir,
		         strerror(errno));
		return -1;
	}
	if (st.st_uid != geteuid()) {
		snprintf(msg, msglen, "state directory '%s' belongs to uid %ju, not to this user "
		         "(uid %ju)", s->cfg.state_dir, (uintmax_t)st.st_uid, (uintmax_t)geteuid());
		return -1;
	}
	if (ses_store_open(s->cfg.state_dir, &s->store, &e) != 0) {
		snprintf(msg, msglen, "cannot open state directory '%s': %s", s->cfg.state_dir,
		         e.msg);
		return -1;
	}
	return 0;
}

static int64_t mono_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec;
}

/* One sweep; logs what it removed or why it failed. Returns 0 or -1. */
static int sweep(struct svc *s, const char *who)
{
	struct ses_error e;
	unsigned swept = 0;

	memset(&e, 0, sizeof e);
	if (ses_sweep(&s->store, (int64_t)time(NULL), &swept, &e) != 0) {
		log_event("warning", "sandbox.session.sweep_failed",
		          json_pack("{s:s, s:s, s:i}", "by", who, "message", e.msg, "errno", e.err));
		return -1;
	}
	if (swept > 0) {
		for (unsigned i = 0; i < swept; i++)
			met_session(s->met.store, "expired", 0);
		log_event("info", "sandbox.session.swept",
		          json_pack("{s:s, s:i}", "by", who, "sessions", (int)swept));
	}
	return 0;
}

void svc_sweep_idle(struct svc *s)
{
	int64_t now = mono_s();

	if (s->store.sessfd < 0 || (s->last_sweep != 0 && now - s->last_sweep < SVC_SWEEP_EVERY_S))
		return;
	s->last_sweep = now;
	sweep(s, "responder");
}

struct cmd_ctx {
	struct svc *s;
	int64_t now;
	unsigned n, failed;
};

/* --list-sessions: one JSON object per line, expired ones included
 * (with "expired": true) so the operator sees what the sweep will take. */
static int list_one(const char *id, void *ctx)
{
	struct cmd_ctx *c = ctx;
	struct ses_error e;
	struct ses_meta m;
	json_t *o;
	char *text;

	memset(&e, 0, sizeof e);
	/* Loaded at time 0: never expired, so its meta is returned. */
	if (ses_load(&c->s->store, id, 0, &m, &e) != 0) {
		o = json_pack("{s:s, s:s}", "session_id", id, "error", e.msg);
	} else {
		o = ses_json_meta(&c->s->store, &m);
		json_object_set_new(o, "expired", json_boolean(ses_expired(&m, c->now)));
		ses_meta_clear(&m);
	}
	text = o ? json_dumps(o, JSON_COMPACT) : NULL;
	json_decref(o);
	if (text)
		printf("%s\n", text);
	free(text);
	c->n++;
	return 0;
}

static int purge_one(const char *id, void *ctx)
{
	struct cmd_ctx *c = ctx;
	struct ses_error e;
	bool waited;

	memset(&e, 0, sizeof e);
	if (ses_delete_wait(&c->s->store, id, svc_delete_wait_ms(c->s), &waited, &e) != 0 &&
	    e.status != 404) {
		fprintf(stderr, "sandbox-fcgi: session %s: %s\n", id, e.msg);
		c->failed++;
		return 0;
	}
	log_event("info", "sandbox.session.deleted",
	          json_pack("{s:s, s:s, s:b}", "session_id", id, "by", "purge", "waited", waited));
	c->n++;
	return 0;
}

/* The commands act as the state directory's owner: run by root they drop
 * to that user first, so that nothing they create (sessions/, sweep.lock)
 * ends up root's and locks the service user out; run by anyone else they
 * are refused. 0, or -1 with msg. */
static int become_owner(const char *dir, char *msg, size_t msglen)
{
	struct stat st;

	if (stat(dir, &st) != 0) {
		snprintf(msg, msglen, "state directory '%s': %s", dir, strerror(errno));
		return -1;
	}
	if (st.st_uid == geteuid())
		return 0;
	if (geteuid() != 0) {
		snprintf(msg, msglen, "state directory '%s' belongs to uid %ju: run this as that "
		         "user (or root)", dir, (uintmax_t)st.st_uid);
		return -1;
	}
	if (setgroups(0, NULL) != 0 || setgid(st.st_gid) != 0 || setuid(st.st_uid) != 0) {
		snprintf(msg, msglen, "cannot become uid %ju, the owner of '%s': %s",
		         (uintmax_t)st.st_uid, dir, strerror(errno));
		return -1;
	}
	return 0;
}

int svc_command(struct svc *s)
{
	struct cmd_ctx c = { .s = s, .now = (int64_t)time(NULL) };
	struct ses_error e;
	char msg[512];
	int rc = 0;

	memset(&e, 0, sizeof e);
	if (become_owner(s->cfg.state_dir, msg, sizeof msg) != 0) {
		fprintf(stderr, "sandbox-fcgi: %s\n", msg);
		return 1;
	}
	if (ses_store_open(s->cfg.state_dir, &s->store, &e) != 0) {
		snprintf(msg, sizeof msg, "cannot open state directory '%s': %s", s->cfg.state_dir,
		         e.msg);
		fprintf(stderr, "sandbox-fcgi: %s\n", msg);
		return 1;
	}
	switch (s->cfg.cmd) {
	case FCGI_CMD_SWEEP:
		rc = sweep(s, "command");
		break;
	case FCGI_CMD_LIST:
		rc = ses_each(&s->store, list_one, &c, &e);
		break;
	case FCGI_CMD_PURGE:
		rc = ses_each(&s->store, purge_one, &c, &e);
		if (rc == 0)
			fprintf(stderr, "sandbox-fcgi: purged %u sessions\n", c.n);
		rc = rc != 0 || c.failed ? -1 : 0;
		break;
	case FCGI_CMD_SERVE:
	default:
		break;
	}
	if (rc != 0 && e.msg[0])
		fprintf(stderr, "sandbox-fcgi: %s\n", e.msg);
	ses_store_close(&s->store);
	return rc == 0 && fflush(stdout) == 0 ? 0 : 1;
}

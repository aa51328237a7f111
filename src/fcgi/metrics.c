/*
 * metrics.c - the pure part of the pool's metrics: the store's layout,
 * lock-free recording into it, and the Prometheus text format
 * (https://prometheus.io/docs/instrumenting/exposition_formats/). The file
 * behind the store is metrics_shm.c's.
 */
#include "fcgi/metrics.h"

#include <sched.h>
#include <string.h>

/* Responders in different processes update the same counters: only
 * lock-free atomics are address-free (C11 7.17.5), a lock-based fallback
 * would not work across processes. */
_Static_assert(ATOMIC_LLONG_LOCK_FREE == 2, "64-bit atomics must be lock-free");
_Static_assert(ATOMIC_INT_LOCK_FREE == 2, "int atomics must be lock-free");

const uint64_t met_bucket_ms[MET_NBUCKETS - 1] = {
	5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000, 120000,
};
/* The same bounds in seconds, as Prometheus' "le" label writes them. */
static const char *const bucket_le[MET_NBUCKETS] = {
	"0.005", "0.01", "0.025", "0.05", "0.1", "0.25", "0.5", "1", "2.5", "5", "10",
	"30", "120", "+Inf",
};

unsigned met_bucket_index(uint64_t ms)
{
	unsigned i;

	for (i = 0; i < MET_NBUCKETS - 1; i++)
		if (ms <= met_bucket_ms[i])
			return i;
	return MET_NBUCKETS - 1;
}

static void header_fill(struct met_store *m)
{
	memcpy(m->magic, MET_MAGIC, sizeof m->magic);
	m->version = MET_VERSION;
	m->size = (uint32_t)sizeof *m;
	m->nslots = MET_SLOTS;
	m->nseries = MET_SERIES;
	m->nbuckets = MET_NBUCKETS;
	m->label_len = MET_LABEL;
}

void met_store_init(struct met_store *m)
{
	static const char *const kind_other[MET_K_MAX][MET_NLABELS] = {
		[MET_K_RUN] = { "other", "other", "other" },
		[MET_K_REFUSED] = { "other", "other", "" },
		[MET_K_SETUP_FAIL] = { "other", "", "" },
		[MET_K_WARM] = { "other", "other", "other" },
		[MET_K_SESSION] = { "other", "other", "" },
	};

	header_fill(m);
	for (unsigned k = MET_K_RUN; k < MET_K_MAX; k++) {
		m->other[k].kind = k;
		for (unsigned l = 0; l < MET_NLABELS; l++)
			snprintf(m->other[k].label[l], MET_LABEL, "%s", kind_other[k][l]);
		atomic_store(&m->other[k].state, 2u);
	}
}

bool met_store_valid(const struct met_store *m)
{
	return memcmp(m->magic, MET_MAGIC, sizeof m->magic) == 0 && m->version == MET_VERSION &&
	       m->size == (uint32_t)sizeof *m && m->nslots == MET_SLOTS &&
	       m->nseries == MET_SERIES && m->nbuckets == MET_NBUCKETS &&
	       m->label_len == MET_LABEL;
}

void met_observe(struct met_hist *h, uint64_t ms)
{
	atomic_fetch_add(&h->bucket[met_bucket_index(ms)], 1);
	atomic_fetch_add(&h->sum_ms, ms);
	atomic_fetch_add(&h->count, 1);
}

static bool series_is(const struct met_series *s, unsigned kind, const char *const *labels)
{
	if (s->kind != kind)
		return false;
	for (unsigned l = 0; l < MET_NLABELS; l++)
		if (strncmp(s->label[l], labels[l], MET_LABEL - 1) != 0)
			return false;
	return true;
}

/* Waits for a series another responder is writing; false if it never
 * finishes (that responder died mid-write: the series is lost, not the
 * counts). */
static bool series_wait_ready(struct met_series *s)
{
	for (int i = 0; i < 10000; i++) {
		if (atomic_load(&s->state) == 2u)
			return true;
		sched_yield();
	}
	return false;
}

/* The series of (kind, labels): found, claimed, or the kind's "other". */
static struct met_series *series_get(struct met_store *m, unsigned kind, const char *const *labels)
{
	for (unsigned i = 0; i < MET_SERIES; i++) {
		struct met_series *s = &m->series[i];
		unsigned st = atomic_load(&s->state);

		if (st == 0u) {
			if (!atomic_compare_exchange_strong(&s->state, &st, 1u)) {
				i--;             /* lost the race: look at it again */
				continue;
			}
			s->kind = kind;
			for (unsigned l = 0; l < MET_NLABELS; l++)
				snprintf(s->label[l], MET_LABEL, "%s", labels[l] ? labels[l] : "");
			atomic_store(&s->state, 2u);   /* seq_cst: publishes the labels */
			return s;
		}
		if (st == 1u && !series_wait_ready(s))
			continue;
		if (series_is(s, kind, labels))
			return s;
	}
	return &m->other[kind];
}

static void series_add(struct met_store *m, unsigned kind, const char *a, const char *b,
                       const char *c, uint64_t ms)
{
	const char *labels[MET_NLABELS] = { a ? a : "", b ? b : "", c ? c : "" };

	if (m)
		met_observe(&series_get(m, kind, labels)->h, ms);
}

void met_run(struct met_store *m, const char *runtime, const char *tmpl,
             const char *status, uint64_t duration_ms)
{
	series_add(m, MET_K_RUN, runtime, tmpl, status, duration_ms);
}

void met_refused(struct met_store *m, int http_status, const char *code)
{
	char st[16];

	snprintf(st, sizeof st, "%d", http_status);
	series_add(m, MET_K_REFUSED, st, code, NULL, 0);
}

void met_warm(struct met_store *m, const char *runtime, bool hit, const char *reason)
{
	series_add(m, MET_K_WARM, runtime, hit ? "hit" : "miss", hit ? "" : reason, 0);
}

void met_warm_totals(const struct met_store *m, uint64_t *hits, uint64_t *misses)
{
	*hits = *misses = 0;
	if (!m)
		return;
	for (unsigned i = 0; i <= MET_SERIES; i++) {
		const struct met_series *s = i < MET_SERIES ? &m->series[i] : &m->other[MET_K_WARM];
		if (i < MET_SERIES && (atomic_load(&((struct met_series *)s)->state) != 2 ||
		                       s->kind != MET_K_WARM))
			continue;
		uint64_t n = atomic_load(&((struct met_series *)s)->h.count);
		if (strcmp(s->label[1], "hit") == 0)
			*hits += n;
		else
			*misses += n;
	}
}

void met_setup_failure(struct met_store *m, const char *step)
{
	series_add(m, MET_K_SETUP_FAIL, step, NULL, NULL, 0);
}

void met_session(struct met_store *m, const char *op, int http_status)
{
	char st[16];

	snprintf(st, sizeof st, "%d", http_status);
	series_add(m, MET_K_SESSION, op, st, NULL, 0);
}

void met_queue_wait(struct met_store *m, uint64_t ms)
{
	if (m)
		met_observe(&m->queue_wait, ms);
}

/* --- Rendering ----------------------------------------------------------- */

void met_put_label_value(FILE *f, const char *s)
{
	for (; *s; s++) {
		if (*s == '\\' || *s == '"')
			fprintf(f, "\\%c", *s);
		else if (*s == '\n')
			fputs("\\n", f);
		else
			fputc(*s, f);
	}
}

struct kind_desc {
	const char *name, *help;
	const char *label[MET_NLABELS];
	bool histogram;              /* else a counter of h.count */
};

static const struct kind_desc kinds[MET_K_MAX] = {
	[MET_K_RUN] = { "sandbox_runs", "Runs answered, by runtime, template and status "
	                "(sandbox_failure: the jail could not be set up).",
	                { "runtime", "template", "status" }, false },
	[MET_K_REFUSED] = { "sandbox_requests_refused", "Requests the responders answered "
	                    "with an error, by HTTP status and error code.",
	                    { "code", "reason", NULL }, false },
	[MET_K_SETUP_FAIL] = { "sandbox_jail_setup_failures", "Runs whose jail could not "
	                       "be set up, by the failing step.",
	                       { "step", NULL, NULL }, false },
	[MET_K_WARM] = { "sandbox_warm_runs", "Runs while a warm interpreter was kept, by "
	                 "runtime, result (hit: served warm, miss: cold) and the reason of a miss.",
	                 { "runtime", "result", "reason" }, false },
	[MET_K_SESSION] = { "sandbox_session_operations", "Session operations, by operation "
	                    "and HTTP status (expired: sessions the sweep removed, status 0).",
	                    { "op", "status", NULL }, false },
};

static void put_labels(FILE *f, const struct kind_desc *d, const struct met_series *s,
                       const char *le)
{
	const char *sep = "";

	fputc('{', f);
	for (unsigned l = 0; l < MET_NLABELS && d->label[l]; l++) {
		fprintf(f, "%s%s=\"", sep, d->label[l]);
		met_put_label_value(f, s->label[l]);
		fputc('"', f);
		sep = ",";
	}
	if (le)
		fprintf(f, "%sle=\"%s\"", sep, le);
	fputc('}', f);
}

/* Prometheus wants each series' value read once: the bucket counts are
 * summed from one pass, and _count is their total (not h->count, which an
 * update in flight may have incremented already or not yet). */
static void put_histogram(FILE *f, const char *name, const struct kind_desc *d,
                          const struct met_series *s, const struct met_hist *h)
{
	uint64_t cum = 0;

	for (unsigned b = 0; b < MET_NBUCKETS; b++) {
		cum += atomic_load(&((struct met_hist *)h)->bucket[b]);
		fprintf(f, "%s_bucket", name);
		if (d)
			put_labels(f, d, s, bucket_le[b]);
		else
			fprintf(f, "{le=\"%s\"}", bucket_le[b]);
		fprintf(f, " %llu\n", (unsigned long long)cum);
	}
	fprintf(f, "%s_sum", name);
	if (d)
		put_labels(f, d, s, NULL);
	fprintf(f, " %.3f\n", (double)atomic_load(&((struct met_hist *)h)->sum_ms) / 1000.0);
	fprintf(f, "%s_count", name);
	if (d)
		put_labels(f, d, s, NULL);
	fprintf(f, " %llu\n", (unsigned long long)cum);
}

static bool series_shown(const struct met_series *s, unsigned kind)
{
	return atomic_load(&((struct met_series *)s)->state) == 2u && s->kind == kind &&
	       atomic_load(&((struct met_hist *)&s->h)->count) > 0;
}

static void put_kind(FILE *f, const struct met_store *m, unsigned kind)
{
	const struct kind_desc *d = &kinds[kind];

	fprintf(f, "# HELP %s_total %s\n# TYPE %s_total counter\n", d->name, d->help, d->name);
	for (unsigned i = 0; i <= MET_SERIES; i++) {
		const struct met_series *s = i < MET_SERIES ? &m->series[i] : &m->other[kind];

		if (!series_shown(s, kind))
			continue;
		fprintf(f, "%s_total", d->name);
		put_labels(f, d, s, NULL);
		fprintf(f, " %llu\n", (unsigned long long)atomic_load(&((struct met_hist *)&s->h)->count));
	}
}

static void put_run_durations(FILE *f, const struct met_store *m)
{
	const struct kind_desc *d = &kinds[MET_K_RUN];

	fputs("# HELP sandbox_run_duration_seconds Time from accepting a POST /run to its "
	      "answer, by runtime, template and status.\n"
	      "# TYPE sandbox_run_duration_seconds histogram\n", f);
	for (unsigned i = 0; i <= MET_SERIES; i++) {
		const struct met_series *s = i < MET_SERIES ? &m->series[i] : &m->other[MET_K_RUN];

		if (series_shown(s, MET_K_RUN))
			put_histogram(f, "sandbox_run_duration_seconds", d, s, &s->h);
	}
}

static void put_pool(FILE *f, const struct met_store *m, const struct met_view *v)
{
	unsigned live = 0, busy = 0;

	for (unsigned i = 0; i < MET_SLOTS; i++) {
		pid_t pid = atomic_load(&((struct met_slot *)&m->slots[i])->pid);

		if (pid <= 0 || !v->alive(pid))
			continue;
		live++;
		busy += atomic_load(&((struct met_slot *)&m->slots[i])->busy) ? 1 : 0;
	}
	fprintf(f, "# HELP sandbox_pool_size Responders the pool is configured for (--pool-size).\n"
	        "# TYPE sandbox_pool_size gauge\nsandbox_pool_size %u\n"
	        "# HELP sandbox_responders Live responders registered in the metrics file.\n"
	        "# TYPE sandbox_responders gauge\nsandbox_responders %u\n"
	        "# HELP sandbox_responders_busy Responders running a POST /run now.\n"
	        "# TYPE sandbox_responders_busy gauge\nsandbox_responders_busy %u\n"
	        "# HELP sandbox_metrics_shared 1 if these figures cover the whole pool, 0 if "
	        "only the responder that answered (no metrics file).\n"
	        "# TYPE sandbox_metrics_shared gauge\nsandbox_metrics_shared %d\n",
	        v->pool_size, live, busy, v->shared ? 1 : 0);
}

static void put_templates(FILE *f, const struct met_view *v)
{
	fputs("# HELP sandbox_rootfs_template_info The RootFS templates installed "
	      "(version: the target of <template>/current).\n"
	      "# TYPE sandbox_rootfs_template_info gauge\n", f);
	for (size_t i = 0; i < v->ntemplates; i++) {
		const struct met_template_info *t = &v->templates[i];

		fputs("sandbox_rootfs_template_info{template=\"", f);
		met_put_label_value(f, t->name ? t->name : "");
		fputs("\",version=\"", f);
		met_put_label_value(f, t->version ? t->version : "");
		fputs("\",manifest=\"", f);
		met_put_label_value(f, t->manifest ? t->manifest : "");
		fputs("\"} 1\n", f);
	}
}

int met_render(FILE *f, const struct met_store *m, const struct met_view *v)
{
	put_pool(f, m, v);
	put_kind(f, m, MET_K_RUN);
	put_run_durations(f, m);
	fputs("# HELP sandbox_queue_wait_seconds Time a POST /run waited for a responder "
	      "(nginx's $msec to accept).\n# TYPE sandbox_queue_wait_seconds histogram\n", f);
	put_histogram(f, "sandbox_queue_wait_seconds", NULL, NULL, &m->queue_wait);
	put_kind(f, m, MET_K_SETUP_FAIL);
	put_kind(f, m, MET_K_WARM);
	put_kind(f, m, MET_K_REFUSED);
	put_kind(f, m, MET_K_SESSION);
	put_templates(f, v);
	return ferror(f) ? -1 : 0;
}

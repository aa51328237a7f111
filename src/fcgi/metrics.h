/*
 * metrics.h - the pool's metrics, shared by every responder through one
 * fixed-size file mapped MAP_SHARED (metrics_shm.c), rendered in the
 * Prometheus text format (metrics.c, pure code).
 *
 * File format (version MET_VERSION, host byte order, all counters C11
 * atomics, lock-free on the architectures we build for):
 *   struct met_store, exactly sizeof(struct met_store) bytes:
 *   - header: magic "SBXMETR1", version, total size, and the table sizes
 *     (slots, series, buckets, label length). A file whose header differs
 *     in any field is re-initialised (zeroed) by the first responder that
 *     opens it, under flock(LOCK_EX): counters then restart from 0, which
 *     Prometheus handles as a counter reset.
 *   - queue_wait: one histogram (POST /run's wait in the queue).
 *   - slots[MET_SLOTS]: one per live responder {pid, busy}; a responder
 *     claims a free slot or one whose pid is dead at start-up. A dead pid's
 *     busy flag is ignored, its counters stay (they are in the series).
 *   - series[MET_SERIES]: labelled counters with a histogram, claimed on
 *     first use (state 0 free -> 1 being written -> 2 ready, by CAS); when
 *     all are taken, the kind's "other" series counts the rest, so the file
 *     never grows and a client cannot create label combinations at will
 *     (labels come from the registry, the jail's step names and our own
 *     error codes anyway).
 * Buckets are per bucket (not cumulative) in the file; rendering sums them.
 */
#ifndef SANDBOX_FCGI_METRICS_H
#define SANDBOX_FCGI_METRICS_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#define MET_MAGIC "SBXMETR1"
#define MET_VERSION 1u
#define MET_SLOTS 64
#define MET_SERIES 160
#define MET_NBUCKETS 14
#define MET_LABEL 48
#define MET_NLABELS 3

enum met_kind {
	MET_K_RUN = 1,          /* runtime, template, status; duration histogram */
	MET_K_REFUSED,          /* HTTP status, error code */
	MET_K_SETUP_FAIL,       /* jail step */
	MET_K_WARM,             /* runtime, hit/miss, why it went cold */
	MET_K_SESSION,          /* session operation, HTTP status */
	MET_K_MAX
};

struct met_hist {
	atomic_uint_least64_t count;
	atomic_uint_least64_t sum_ms;
	atomic_uint_least64_t bucket[MET_NBUCKETS];   /* last one: above all bounds */
};

struct met_slot {
	atomic_int pid;              /* 0: free */
	atomic_int busy;             /* 1 while the responder runs a POST /run */
};

struct met_series {
	atomic_uint state;           /* 0 free, 1 being written, 2 ready */
	unsigned kind;
	char label[MET_NLABELS][MET_LABEL];
	struct met_hist h;
};

struct met_store {
	char magic[8];
	uint32_t version, size, nslots, nseries, nbuckets, label_len;
	struct met_hist queue_wait;
	struct met_slot slots[MET_SLOTS];
	struct met_series other[MET_K_MAX];   /* the overflow series of each kind */
	struct met_series series[MET_SERIES];
};

/* Upper bounds of the histogram buckets in milliseconds (the last bucket
 * has none: +Inf). */
extern const uint64_t met_bucket_ms[MET_NBUCKETS - 1];

/* The bucket of a value: the first bound >= ms, else the last bucket. */
unsigned met_bucket_index(uint64_t ms);
/* Writes a fresh header into a zeroed store. */
void met_store_init(struct met_store *m);
/* Whether the header is this version's. */
bool met_store_valid(const struct met_store *m);

/* Recording (lock-free; m may be NULL: then nothing is recorded). */
void met_observe(struct met_hist *h, uint64_t ms);
void met_run(struct met_store *m, const char *runtime, const char *tmpl,
             const char *status, uint64_t duration_ms);
void met_refused(struct met_store *m, int http_status, const char *code);
void met_setup_failure(struct met_store *m, const char *step);
void met_queue_wait(struct met_store *m, uint64_t ms);
/* A run while a warm interpreter was kept: served by it (hit) or cold
 * (miss, with the reason: another runtime, "environment", ...). */
void met_warm(struct met_store *m, const char *runtime, bool hit, const char *reason);
/* The pool's totals of met_warm (0 when m is NULL). */
void met_warm_totals(const struct met_store *m, uint64_t *hits, uint64_t *misses);
/* A session operation ("create", "upload", ... "expired" for each session
 * the sweep removed) answered with HTTP status (0 for the sweep). */
void met_session(struct met_store *m, const char *op, int http_status);

/* A scrape-time fact that is not in the file. */
struct met_template_info {
	const char *name, *version, *manifest;
};

struct met_view {
	unsigned pool_size;          /* --pool-size */
	bool shared;                 /* false: the file could not be used */
	const struct met_template_info *templates;
	size_t ntemplates;
	/* Whether a slot's pid is a live process (kill(pid, 0) in the
	 * responder, a stub in the tests). */
	bool (*alive)(pid_t pid);
};

/* Writes the Prometheus text format (version 0.0.4). Returns 0, or -1 if
 * f reports an error. */
int met_render(FILE *f, const struct met_store *m, const struct met_view *v);

/* Writes s as a label value (backslash, double quote, newline escaped). */
void met_put_label_value(FILE *f, const char *s);

#endif

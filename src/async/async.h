/*
 * async.h - the contract of src/async: asynchronous runs kept on disk
 * (docs/OPERATIONS.md, "Asynchronous runs"). Ids, the state file, the queue
 * in the order runs were accepted, the claim of a run by exactly one
 * responder, cancellation, the async slots that bound how many responders
 * run async jobs at once, and the retention sweep. No HTTP and no jail
 * here: the responder (src/fcgi/runs.c, async_exec.c) answers and runs.
 *
 * Layout (STATE is --state-dir):
 *   STATE/runs/                  0700
 *     queue/<key>                empty file: the run waits; key = 20-digit
 *                                acceptance time in ns, '-', id (name order
 *                                = acceptance order)
 *     running/<key>              moved there by the claim (rename: one winner)
 *     slots/async.N, wait.N      flock'ed: async executors, long polls
 *     sweep.lock                 flock: one sweep at a time
 *     <id>/                      0700, one per run (renamed into place whole)
 *       request.json             the validated body (no "id", "callback_url")
 *       state.json               status and times, rewritten atomically
 *       result.json              the /run answer, once done
 *       lock                     flock'ed by the responder executing the run
 *       cancel                   FIFO: a canceller's open+close hangs it up
 *       cancel_requested         marker written by DELETE before the poke
 */
#ifndef SANDBOX_ASYNC_H
#define SANDBOX_ASYNC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <jansson.h>

#define AQ_ID_MAX 64                  /* client ids: 1..64 of [A-Za-z0-9_-] */
#define AQ_KEY_MAX (20 + 1 + AQ_ID_MAX)
#define AQ_URL_MAX 2048               /* callback_url, bytes */
#define AQ_STATE_MAX 16384            /* bytes of state.json */
#define AQ_STALE_MS 300000            /* age after which a half-made entry is swept */

enum aq_status { AQ_QUEUED = 0, AQ_RUNNING, AQ_DONE, AQ_CANCELLED, AQ_FAILED };

struct aq_error {
	int status;                       /* HTTP status: 404, 409, 500, 503 */
	char code[32];
	char msg[256];
};

struct aq_state {
	char id[AQ_ID_MAX + 1];
	char key[AQ_KEY_MAX + 1];
	enum aq_status status;
	int64_t created_ms, started_ms, finished_ms;  /* epoch ms; 0: not yet */
	char callback_url[AQ_URL_MAX + 1];            /* "" none */
	char request_id[72];              /* of the POST that accepted it */
	char error_code[48];              /* failed: why (with error_msg) */
	char error_msg[256];
	char error_field[128];
	int error_http;                   /* failed on validation: the 4xx /run gives */
};

/* --- pure (aq_state.c) --- */
const char *aq_status_name(enum aq_status s);
int aq_status_parse(const char *s, enum aq_status *out);
bool aq_status_final(enum aq_status s);
bool aq_id_valid(const char *s);
/* 32 lowercase hex digits from getrandom(); 0 or -1. */
int aq_id_new(char out[33]);
/* "<20 digits of created_ns>-<id>". 0, or -1 if it does not fit. */
int aq_key_make(uint64_t created_ns, const char *id, char *out, size_t len);
/* The id part of a well-formed key, or NULL. */
const char *aq_key_id(const char *key);
/* The on-disk form (version 1) and back: -1 on anything malformed. */
char *aq_state_dump(const struct aq_state *st);
int aq_state_parse(const char *buf, size_t len, struct aq_state *out);
/* "2026-12-02T05:40:00.123Z" (len >= 25). */
void aq_time_fmt(int64_t epoch_ms, char *buf, size_t len);
/* Sorts keys (acceptance order). */
void aq_keys_sort(char **keys, size_t n);

/* --- the store (aq_store.c) --- */
struct aq_store {
	int runsfd, queuefd, runningfd, slotsfd;
	unsigned async_slots, wait_slots;
};

int aq_open(const char *state_dir, unsigned async_slots, unsigned wait_slots,
            struct aq_store *out, struct aq_error *e);
void aq_close(struct aq_store *st);

/* Keeps a new run: st->id (valid), created_ms, callback_url and request_id
 * are the caller's; key is filled and status set queued. 409 run_exists
 * when the id is taken by a run not swept yet. */
int aq_submit(struct aq_store *st, struct aq_state *run, uint64_t created_ns,
              const char *request_json, size_t len, struct aq_error *e);
/* The two halves of aq_submit, for a batch that is accepted whole or not
 * at all: aq_prepare keeps the run without queueing it (nobody can claim
 * it yet), aq_enqueue queues it, aq_discard removes a prepared run. */
int aq_prepare(struct aq_store *st, struct aq_state *run, uint64_t created_ns,
               const char *request_json, size_t len, struct aq_error *e);
int aq_enqueue(struct aq_store *st, const struct aq_state *run, struct aq_error *e);
void aq_discard(struct aq_store *st, const char *id);
/* 404 run_not_found or 0 and *out. */
int aq_load(struct aq_store *st, const char *id, struct aq_state *out, struct aq_error *e);
int aq_save(struct aq_store *st, const struct aq_state *run, struct aq_error *e);
/* result.json, opened for reading; -1 with errno. */
int aq_result_open(struct aq_store *st, const char *id);
/* Writes result.json atomically from a temp file the caller filled:
 * aq_result_tmp() opens it (fd; *name receives its name), aq_result_commit()
 * fsyncs, closes and renames it (or removes it when ok is false). */
int aq_result_tmp(struct aq_store *st, const char *id, char *name, size_t len);
int aq_result_commit(struct aq_store *st, const char *id, int fd, const char *name, bool ok);
/* DELETE: a queued run is cancelled here (*out says so); a running one gets
 * its marker and its FIFO hung up (the executor ends it and saves the
 * state); a finished one is left as it is (409 run_finished). */
int aq_cancel(struct aq_store *st, const char *id, int64_t now_ms, struct aq_state *out,
              struct aq_error *e);

/* An async slot (flock'ed slots/async.N, N < async_slots): fd or -1 when
 * all are taken. A wait slot likewise for long polls. close() frees it. */
int aq_slot_take(struct aq_store *st, bool wait);

struct aq_claim {
	char key[AQ_KEY_MAX + 1];
	char id[AQ_ID_MAX + 1];
	int lockfd;
};
/* Claims the oldest queued run: 1 and *c (its lock held), 0 when the queue
 * is empty, -1 on error. Exactly one caller gets each run. */
int aq_claim_next(struct aq_store *st, struct aq_claim *c);
/* The run is finished (its state saved): drops running/<key> and the lock. */
void aq_claim_done(struct aq_store *st, struct aq_claim *c);
/* The claim is given back (the executor is stopping): running/<key> moves
 * back to queue/<key>, the lock is dropped. 0 or -1. */
int aq_requeue(struct aq_store *st, struct aq_claim *c);
/* events.ndjson, the run's live output (GET /runs/{id}/events): opened
 * for appending by the executor (created empty), for reading by a reader.
 * -1 with errno. */
int aq_events_open(struct aq_store *st, const char *id, bool write);
/* request.json, malloc'd (at most max bytes); -1 with errno. */
int aq_request_read(struct aq_store *st, const char *id, size_t max, char **out, size_t *len);
/* The executor's end of the cancel FIFO (O_RDONLY|O_NONBLOCK), and whether a
 * cancel was asked for before it was opened. */
int aq_cancel_fd(struct aq_store *st, const char *id);
bool aq_cancel_requested(struct aq_store *st, const char *id);

/* Queue depth and runs being executed (entries of queue/ and running/). */
void aq_counts(struct aq_store *st, size_t *queued, size_t *running);

/* One sweep (skipped, 0, when another holds sweep.lock): runs finished
 * longer than retention_ms ago are removed, runs whose executor died are
 * failed ("interrupted"), leftovers older than AQ_STALE_MS removed. fn, if
 * set, is told of each run failed or removed. Returns how many it changed. */
typedef void (*aq_sweep_fn)(const char *event, const struct aq_state *run, void *ctx);
int aq_sweep(struct aq_store *st, int64_t now_ms, uint64_t retention_ms, aq_sweep_fn fn,
             void *ctx);

#endif

/*
 * api_mem.c - untrusted JSON (a request body, a handler's result file)
 * loaded under bounds: a pre-scan of each chunk (req_scan.c: nesting and
 * value count) and a byte budget on what jansson holds.
 *
 * The budget: jansson allocates through hooks (json_set_alloc_funcs); ours
 * count the usable size of every block (malloc_usable_size, so no header
 * is needed and blocks from before the hooks were installed are freed
 * correctly). The loader reads the text in chunks through
 * json_load_callback and, before handing jansson the next chunk, stops
 * (as at the end of the input) once jansson holds more than the budget
 * since it began. Allocations themselves never fail on purpose: jansson's
 * lexer ignores a failed append to its token buffer and then reads past
 * its end (load.c, lex_save), so a failing allocator turns a refusal into
 * a crash. Stopping between chunks is safe; the overshoot is what jansson
 * allocates for one chunk of 1 KiB (docs/OPERATIONS.md, "Responder
 * memory").
 *
 * Why a budget beside the value count: the count bounds the tree's nodes,
 * not its strings. jansson keeps the raw text of the longest string token
 * (grown by doubling, the old copy freed only after the new one is
 * filled) next to a decoded copy of every string.
 *
 * The state is per process: the responder and sandbox-run parse one
 * document at a time on one thread.
 */
#include <malloc.h>
#include <stdlib.h>
#include <string.h>

#include "api/api_load.h"

static struct {
	size_t live;       /* usable bytes jansson holds now */
	size_t base;       /* live when the budget was armed */
	size_t limit;      /* 0: not armed */
	size_t peak;       /* highest live - base while armed */
	bool exceeded;
} mem;

static size_t api_mem_held(void)
{
	return mem.live > mem.base ? mem.live - mem.base : 0;
}

static void *api_mem_malloc(size_t size)
{
	void *p = malloc(size);

	if (!p)
		return NULL;
	mem.live += malloc_usable_size(p);
	if (mem.limit && api_mem_held() > mem.peak)
		mem.peak = api_mem_held();
	if (mem.limit && api_mem_held() > mem.limit)
		mem.exceeded = true;
	return p;
}

static void api_mem_free(void *p)
{
	size_t n;

	if (!p)
		return;
	n = malloc_usable_size(p);
	/* A block from before api_mem_install() was never counted. */
	mem.live = mem.live > n ? mem.live - n : 0;
	free(p);
}

void api_mem_install(void)
{
	json_malloc_t m;
	json_free_t f;

	json_get_alloc_funcs(&m, &f);
	if (m != api_mem_malloc)
		json_set_alloc_funcs(api_mem_malloc, api_mem_free);
}

void api_mem_arm(size_t limit)
{
	api_mem_install();
	mem.base = mem.live;
	mem.limit = limit;
	mem.peak = 0;
	mem.exceeded = false;
}

bool api_mem_disarm(void)
{
	bool exceeded = mem.exceeded;

	mem.limit = 0;
	mem.exceeded = false;
	return exceeded;
}

bool api_mem_exceeded(void)
{
	return mem.exceeded;
}

size_t api_mem_peak(void)
{
	return mem.peak;
}

size_t api_mem_live(void)
{
	return mem.live;
}

/* json_load_callback's reader: budget first, then the caller's chunk
 * through the pre-scan. Returning (size_t)-1 ends jansson's input. */
static size_t api_load_read(void *buf, size_t buflen, void *data)
{
	struct api_load *l = data;
	long n;

	if (l->fail != API_LOAD_OK)
		return (size_t)-1;
	if (mem.exceeded) {
		l->fail = API_LOAD_BUDGET;
		return (size_t)-1;
	}
	n = l->read(l->ctx, buf, buflen);
	if (n < 0) {
		l->fail = API_LOAD_SHORT;
		return (size_t)-1;
	}
	if ((size_t)n > l->max_bytes - l->got) {
		l->fail = API_LOAD_TOO_LARGE;
		return (size_t)-1;
	}
	l->got += (size_t)n;
	if (req_scan_feed(&l->scan, buf, (size_t)n) != REQ_SCAN_OK) {
		l->fail = API_LOAD_SCAN;
		return (size_t)-1;
	}
	return (size_t)n;
}

void api_load_init(struct api_load *l, api_read_fn read, void *ctx, size_t max_bytes,
                   size_t max_depth, size_t max_values, size_t budget)
{
	memset(l, 0, sizeof *l);
	l->read = read;
	l->ctx = ctx;
	l->max_bytes = max_bytes;
	l->budget = budget;
	req_scan_init(&l->scan, max_depth, max_values);
}

json_t *api_load(struct api_load *l, size_t flags, json_error_t *je)
{
	json_t *doc;

	api_mem_arm(l->budget);
	doc = json_load_callback(api_load_read, l, flags, je);
	/* The last chunk may have crossed the budget: refused all the same. */
	if (api_mem_disarm() && l->fail == API_LOAD_OK)
		l->fail = API_LOAD_BUDGET;
	if (l->fail != API_LOAD_OK) {
		json_decref(doc);
		doc = NULL;
	}
	return doc;
}

long api_mem_read(void *ctx, char *buf, size_t len)
{
	struct api_mem_src *m = ctx;
	size_t n = len < m->left ? len : m->left;

	if (n == 0)
		return 0;   /* m->p may be NULL (an empty body): memcpy wants a pointer */
	memcpy(buf, m->p, n);
	m->p += n;
	m->left -= n;
	return (long)n;
}

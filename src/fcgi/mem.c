/*
 * mem.c - the responder's heap between requests.
 *
 * Why: glibc keeps freed memory for reuse. A request that briefly held tens
 * of MiB (a large body, 16 MiB of output) would otherwise leave the
 * responder that large for the rest of its life: freed blocks inside the
 * heap stay resident, and only the free space at its top above
 * M_TRIM_THRESHOLD is handed back by free() itself (mallopt(3)). A pool of
 * such responders holds the sum of each one's worst request (issue 8,
 * finding 2). malloc_trim(0) after each answer also returns the free
 * pages inside the heap (madvise), so the responder goes back to its idle
 * size; it runs after FCGX_Finish_r, off the answer's latency.
 *
 * glibc's allocation policy itself is left alone (no fixed mmap
 * threshold): trimming alone brings the responder back within 0.2 MiB of
 * its idle size (tests/integration/test_memory.py).
 */
#include "fcgi/mem.h"

#include <malloc.h>

void svc_mem_release(void)
{
	malloc_trim(0);
}

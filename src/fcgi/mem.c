/*
 * mem.c - the responder's heap between requests.
 *
 * Why: glibc keeps freed memory for reuse. A request that briefly held tens
 * of MiB (a large body, 16 MiB of output) would otherwise leave the
 * responder that large for the rest of its life: freed blocks inside the
 * heap stay resident, and only the free space at its top above
 * M_TRIM_THRESHOLD is handed back by free() itself (mallopt(3)). A pool of
 * such responders holds the sum of each one's worst request (issue 8,
 * finding 2).
 *
 * So the policy is fixed at start (svc_mem_init): a block of
 * SVC_MEM_SLACK or more is mmap()ed and goes back to the kernel the moment
 * it is freed, and free() trims the heap's top beyond SVC_MEM_SLACK. Fixed
 * thresholds also turn off glibc's dynamic ones, which after one large
 * output would have kept up to twice its size in the heap. After each
 * answer (svc_mem_release, after FCGX_Finish_r, off the answer's latency)
 * malloc_trim(0) returns the free pages inside the heap too (madvise), but
 * only when more than SVC_MEM_SLACK is free: an ordinary request frees a
 * few hundred KiB, and trimming those after every answer only made the
 * next request grow the heap again (brk, madvise and fresh page faults
 * each time: about 0.4 ms of CPU per request at saturation in perf,
 * docs/PERFORMANCE.md). The responder stays within SVC_MEM_SLACK of its
 * idle size between requests (tests/integration/test_memory.py).
 */
#include "fcgi/mem.h"

#include <malloc.h>

#define SVC_MEM_SLACK (1 << 20)

void svc_mem_init(void)
{
	/* Both only fail for out-of-range values. */
	mallopt(M_MMAP_THRESHOLD, SVC_MEM_SLACK);
	mallopt(M_TRIM_THRESHOLD, SVC_MEM_SLACK);
}

void svc_mem_release(void)
{
	/* mallinfo2() sums the free chunks of every arena, reading only
	 * their headers: a few microseconds per answer. */
	struct mallinfo2 mi = mallinfo2();

	if (mi.fordblks > SVC_MEM_SLACK)
		malloc_trim(0);
}

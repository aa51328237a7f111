/*
 * mem.c - the responder's heap between requests.
 *
 * Why: glibc keeps freed memory for reuse. A request that briefly held tens
 * of MiB (a large body, 16 MiB of output) would otherwise leave the
 * responder that large for the rest of its life: freed small blocks stay in
 * the heap, and glibc's dynamic mmap threshold (raised to the size of each
 * large block freed, up to 32 MiB) moves later large buffers into the heap
 * too (mallopt(3), M_MMAP_THRESHOLD). A pool of such responders holds the
 * sum of each one's worst request (issue 8, finding 2).
 *
 * So: a fixed mmap threshold, which turns the dynamic one off, so that
 * every block of 128 KiB or more is its own mapping and goes back to the
 * kernel when freed; and after each answer malloc_trim(0), which also
 * returns the free pages inside the heap, not only at its top.
 */
#include "fcgi/mem.h"

#include <malloc.h>

#define SVC_MMAP_THRESHOLD (128 * 1024)
#define SVC_TRIM_THRESHOLD (1024 * 1024)

void svc_mem_init(void)
{
	mallopt(M_MMAP_THRESHOLD, SVC_MMAP_THRESHOLD);
	mallopt(M_TRIM_THRESHOLD, SVC_TRIM_THRESHOLD);
}

void svc_mem_release(void)
{
	malloc_trim(0);
}

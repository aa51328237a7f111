/*
 * mem.h - the responder's heap between requests (docs/OPERATIONS.md,
 * "Responder memory").
 */
#ifndef SANDBOX_FCGI_MEM_H
#define SANDBOX_FCGI_MEM_H

/* At start, before the first allocation of a request: the heap's policy. */
void svc_mem_init(void);

/* After each answer is out: hands the request's freed memory back. */
void svc_mem_release(void);

#endif

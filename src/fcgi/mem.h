/*
 * mem.h - the responder's heap between requests (docs/OPERATIONS.md,
 * "Responder memory").
 */
#ifndef SANDBOX_FCGI_MEM_H
#define SANDBOX_FCGI_MEM_H

/* After each answer is out: hands the request's freed memory back. */
void svc_mem_release(void);

#endif

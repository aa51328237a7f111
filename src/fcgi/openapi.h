/*
 * openapi.h - docs/openapi.json, embedded at build time: src/fcgi/module.mk
 * writes src/fcgi/openapi_doc.c (in the build directory) from it.
 */
#ifndef SANDBOX_FCGI_OPENAPI_H
#define SANDBOX_FCGI_OPENAPI_H

#include <stddef.h>

extern const unsigned char openapi_doc[];     /* the document's bytes, NUL-terminated */
extern const size_t openapi_doc_len; /* without the NUL */

#endif

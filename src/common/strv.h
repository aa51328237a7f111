/*
 * strv.h - NULL-terminated vectors of malloc'd strings (argv, envp, lists
 * read from JSON) and "{key}" substitution in argv templates.
 */
#ifndef SANDBOX_COMMON_STRV_H
#define SANDBOX_COMMON_STRV_H

#include <stddef.h>

/* n + 1 slots, all NULL. NULL on OOM. */
char **strv_new(size_t n);
/* Frees every string and the vector; NULL is fine. */
void strv_free(char **v);
size_t strv_len(char *const *v);

/* Replaces every "{key}" in tmpl by its value (keys/vals NULL-terminated,
 * same length). Unknown "{...}" are kept as they are. NULL on OOM. */
char *strv_subst(const char *tmpl, const char *const *keys, const char *const *vals);
/* strv_subst() on each string of tmpl. NULL on OOM. */
char **strv_subst_all(char *const *tmpl, const char *const *keys, const char *const *vals);

#endif

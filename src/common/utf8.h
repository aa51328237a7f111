/*
 * utf8.h - making bytes valid UTF-8 (utf8.c). Program output and request
 * data quoted in messages end up in JSON strings, and jansson refuses text
 * that is not UTF-8: these helpers decide once what is valid.
 */
#ifndef SANDBOX_COMMON_UTF8_H
#define SANDBOX_COMMON_UTF8_H

#include <stdbool.h>
#include <stddef.h>

/* Length of the UTF-8 sequence at s (n bytes left, n >= 1), or 0 if it is
 * not a complete, shortest-form sequence of a Unicode scalar value. */
size_t utf8_seq(const unsigned char *s, size_t n);
/* Whether the n bytes at s (n >= 1) are the beginning of a valid sequence
 * that needs more bytes than n: text cut in the middle of a character (a
 * pipe read that ended there), which the next bytes may complete. */
bool utf8_incomplete(const unsigned char *s, size_t n);
/* Copy of (s, len) with every byte that does not start a valid sequence
 * replaced by U+FFFD (NUL-terminated; *outlen may be NULL). NULL on OOM. */
char *utf8_clean(const char *s, size_t len, size_t *outlen);
/* Makes the NUL-terminated text in buf (size bytes) valid UTF-8 in place:
 * invalid bytes become U+FFFD, and the result is cut at a character
 * boundary if it no longer fits. Error messages quote request data cut
 * with "%.48s", which may split a character; jansson refuses such text. */
void utf8_fix(char *buf, size_t size);

#endif

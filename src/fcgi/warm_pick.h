/*
 * warm_pick.h - which interpreter a responder keeps warm under
 * --warm-runtime auto (the default): the runtime and template used most
 * in its last WARM_PICK_WINDOW runs that a warm interpreter could serve
 * (python, node: api/warm.c).  Pure code (warm_pick.c).
 */
#ifndef SANDBOX_FCGI_WARM_PICK_H
#define SANDBOX_FCGI_WARM_PICK_H

#include <stdbool.h>

#define WARM_PICK_WINDOW 32

struct warm_pick {
	struct {
		char rt[32];
		char tmpl[64];
	} runs[WARM_PICK_WINDOW];     /* a ring, oldest overwritten */
	unsigned n, next;             /* slots filled; the next to write */
};

/* One more run of runtime rt in template tmpl (names longer than the
 * slots are not counted: no runtime or template of ours is). */
void warm_pick_note(struct warm_pick *p, const char *rt, const char *tmpl);

/* The pair used most in the window, the one used last among equals;
 * false when the window is empty. *rt and *tmpl point into p. */
bool warm_pick_best(const struct warm_pick *p, const char **rt, const char **tmpl);

#endif

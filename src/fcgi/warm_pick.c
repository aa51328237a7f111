/*
 * warm_pick.c - the most used runtime of the last runs (warm_pick.h).
 * The window is small and per responder: a pool follows a change of its
 * workload within WARM_PICK_WINDOW runs per responder, and a responder
 * never switches on one odd request (the majority of the window decides).
 */
#include <string.h>

#include "fcgi/warm_pick.h"

void warm_pick_note(struct warm_pick *p, const char *rt, const char *tmpl)
{
	if (strlen(rt) >= sizeof p->runs[0].rt || strlen(tmpl) >= sizeof p->runs[0].tmpl)
		return;
	strcpy(p->runs[p->next].rt, rt);
	strcpy(p->runs[p->next].tmpl, tmpl);
	p->next = (p->next + 1) % WARM_PICK_WINDOW;
	if (p->n < WARM_PICK_WINDOW)
		p->n++;
}

static bool warm_pick_same(const struct warm_pick *p, unsigned a, unsigned b)
{
	return strcmp(p->runs[a].rt, p->runs[b].rt) == 0 &&
	       strcmp(p->runs[a].tmpl, p->runs[b].tmpl) == 0;
}

bool warm_pick_best(const struct warm_pick *p, const char **rt, const char **tmpl)
{
	unsigned best = 0, best_count = 0;
	/* From the newest back: on a tie the first seen (the newest) stays. */
	for (unsigned k = 0; k < p->n; k++) {
		unsigned i = (p->next + WARM_PICK_WINDOW - 1 - k) % WARM_PICK_WINDOW;
		unsigned count = 0;
		for (unsigned m = 0; m < p->n; m++)
			count += warm_pick_same(p, i, (p->next + WARM_PICK_WINDOW - 1 - m) % WARM_PICK_WINDOW);
		if (count > best_count) {
			best = i;
			best_count = count;
		}
	}
	if (best_count == 0)
		return false;
	*rt = p->runs[best].rt;
	*tmpl = p->runs[best].tmpl;
	return true;
}

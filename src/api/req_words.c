/*
 * req_words.c - an entrypoint string split into argv words the way sh would
 * split a simple command, but with no expansion at all: no variables, globs,
 * tildes, command substitution or operators. The words go to execve(), never
 * to a shell, so "a; rm -rf /" is three plain words ("a;", "rm", "-rf", "/").
 */
#include <stdlib.h>
#include <string.h>

#include "api/req_private.h"
#include "common/strv.h"

struct words {
	char **v;
	size_t n, cap;
	char *cur;      /* word being built; NULL between words */
	size_t len;
};

static int words_putc(struct words *w, char c, size_t maxlen)
{
	if (!w->cur && !(w->cur = malloc(maxlen + 1)))
		return -1;
	w->cur[w->len++] = c;
	return 0;
}

static int words_end(struct words *w)
{
	if (!w->cur)
		return 0;
	if (w->n + 1 >= w->cap) {
		size_t cap = w->cap ? w->cap * 2 : 8;
		char **v = realloc(w->v, cap * sizeof(char *));
		if (!v)
			return -1;
		w->v = v;
		w->cap = cap;
	}
	w->cur[w->len] = '\0';
	w->v[w->n++] = w->cur;
	w->v[w->n] = NULL;
	w->cur = NULL;
	w->len = 0;
	return 0;
}

static void words_free(struct words *w)
{
	free(w->cur);
	if (w->v)
		w->v[w->n] = NULL;
	strv_free(w->v);
}

/* Inside "...", sh gives backslash a meaning only before these. */
static bool dq_escapable(char c)
{
	return c == '"' || c == '\\' || c == '$' || c == '`' || c == '\n';
}

static bool is_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\n';
}

/* One step of the scanner at s[*i]. Returns 0, or -1 with *why. */
static int words_step(struct words *w, const char *s, size_t *i, size_t max, const char **why)
{
	char c = s[(*i)++];

	if (is_blank(c))
		return words_end(w) ? (*why = "out of memory", -1) : 0;
	if (c == '\\') {
		if (!s[*i])
			return *why = "trailing backslash", -1;
		if (s[*i] == '\n') {   /* line continuation: both disappear */
			(*i)++;
			return 0;
		}
		return words_putc(w, s[(*i)++], max) ? (*why = "out of memory", -1) : 0;
	}
	if (c == '\'') {
		if (!w->cur && words_putc(w, 'x', max) == 0)
			w->len = 0;   /* '' is an empty word, not nothing */
		for (; s[*i] != '\''; (*i)++) {
			if (!s[*i])
				return *why = "unbalanced single quote", -1;
			if (words_putc(w, s[*i], max))
				return *why = "out of memory", -1;
		}
		(*i)++;
		return w->cur ? 0 : (*why = "out of memory", -1);
	}
	if (c == '"') {
		if (!w->cur && words_putc(w, 'x', max) == 0)
			w->len = 0;
		for (; s[*i] != '"'; (*i)++) {
			if (!s[*i])
				return *why = "unbalanced double quote", -1;
			if (s[*i] == '\\' && dq_escapable(s[*i + 1])) {
				(*i)++;
				if (s[*i] == '\n')
					continue;
			}
			if (words_putc(w, s[*i], max))
				return *why = "out of memory", -1;
		}
		(*i)++;
		return w->cur ? 0 : (*why = "out of memory", -1);
	}
	return words_putc(w, c, max) ? (*why = "out of memory", -1) : 0;
}

char **req_split_words(const char *s, const char **why)
{
	struct words w = {0};
	size_t i = 0, max = strlen(s);   /* no word is longer than the input */

	*why = NULL;
	while (s[i]) {
		if (words_step(&w, s, &i, max, why)) {
			words_free(&w);
			return NULL;
		}
	}
	if (words_end(&w) || (!w.v && !(w.v = strv_new(0)))) {
		*why = "out of memory";
		words_free(&w);
		return NULL;
	}
	return w.v;
}

/*
 * rt.c - the registry of templates: scanning the RootFS directory, picking
 * up a switched `current` link between requests, and looking runtimes up by
 * name, alias and version prefix.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "api/rt_private.h"
#include "common/strv.h"

static int cmp_template(const void *a, const void *b)
{
	return strcmp(((const struct rt_template *)a)->name, ((const struct rt_template *)b)->name);
}

static struct rt_template *find_mut(struct rt_template *ts, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (ts[i].name && strcmp(ts[i].name, name) == 0)
			return &ts[i];
	return NULL;
}

/* Names of base's subdirectories that have a `current` entry. */
static char **scan_names(const char *base, char *msg, size_t msglen)
{
	char path[4096];
	struct stat st;
	struct dirent *de;
	size_t n = 0, cap = 8;
	char **names = strv_new(cap);
	DIR *d = opendir(base);

	if (!d || !names) {
		snprintf(msg, msglen, "%s: cannot read the RootFS directory: %s", base, strerror(errno));
		if (d)
			closedir(d);
		free(names);
		return NULL;
	}
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		if (snprintf(path, sizeof path, "%s/%s/current", base, de->d_name) >= (int)sizeof path ||
		    lstat(path, &st) != 0)
			continue;
		if (n == cap) {
			char **v = realloc(names, (cap * 2 + 1) * sizeof(char *));
			if (!v)
				break;
			names = v;
			cap *= 2;
		}
		if (!(names[n] = strdup(de->d_name)))
			break;
		names[++n] = NULL;
	}
	closedir(d);
	return names;
}

/* Builds the template list from disk, reusing entries of `old` whose link
 * target is unchanged (moved out of `old`). Returns -1 if any template
 * failed; such a template keeps its old entry when it has one. */
static int rt_scan(const char *base, struct rt_template *old, size_t nold,
                   struct rt_template **out, size_t *nout, char *msg, size_t msglen)
{
	char **names = scan_names(base, msg, msglen);
	int rc = 0;

	if (!names)
		return -1;
	size_t n = 0, max = strv_len(names);
	struct rt_template *ts = calloc(max + 1, sizeof *ts);
	for (size_t i = 0; ts && i < max; i++) {
		struct rt_template *o = find_mut(old, nold, names[i]);
		char cur[4096], *target = NULL;
		if (snprintf(cur, sizeof cur, "%s/%s/current", base, names[i]) < (int)sizeof cur)
			target = rt_readlink(cur);
		if (o && target && strcmp(target, o->link_target) == 0) {
			ts[n++] = *o;
			memset(o, 0, sizeof *o);
		} else if (rt_template_load(base, names[i], &ts[n], msg, msglen) == 0) {
			n++;
		} else {
			rt_template_free(&ts[n]);
			rc = -1;   /* msg names the file and key */
			if (o) {
				ts[n++] = *o;
				memset(o, 0, sizeof *o);
			}
		}
		free(target);
	}
	strv_free(names);
	if (!ts)
		return snprintf(msg, msglen, "out of memory"), -1;
	qsort(ts, n, sizeof *ts, cmp_template);
	*out = ts;
	*nout = n;
	return rc;
}

int rt_registry_load(const char *base, struct rt_registry *out, char *msg, size_t msglen)
{
	struct rt_registry reg = {0};

	if (!(reg.base = strdup(base)))
		return snprintf(msg, msglen, "out of memory"), -1;
	if (rt_scan(base, NULL, 0, &reg.templates, &reg.ntemplates, msg, msglen)) {
		rt_registry_free(&reg);
		return -1;
	}
	if (!reg.ntemplates) {
		snprintf(msg, msglen, "%s: no template (a directory with a 'current' link) found", base);
		rt_registry_free(&reg);
		return -1;
	}
	*out = reg;
	return 0;
}

static void templates_free(struct rt_template *ts, size_t n)
{
	for (size_t i = 0; i < n; i++)
		rt_template_free(&ts[i]);
	free(ts);
}

int rt_registry_refresh(struct rt_registry *reg, char *msg, size_t msglen)
{
	struct rt_template *ts = NULL;
	size_t n = 0;
	int rc = rt_scan(reg->base, reg->templates, reg->ntemplates, &ts, &n, msg, msglen);

	if (!ts)
		return -1;   /* could not even scan: keep everything as it was */
	templates_free(reg->templates, reg->ntemplates);
	reg->templates = ts;
	reg->ntemplates = n;
	return rc;
}

void rt_registry_free(struct rt_registry *reg)
{
	if (!reg)
		return;
	templates_free(reg->templates, reg->ntemplates);
	free(reg->base);
	memset(reg, 0, sizeof *reg);
}

const struct rt_template *rt_find_template(const struct rt_registry *reg, const char *name)
{
	for (size_t i = 0; reg && name && i < reg->ntemplates; i++)
		if (strcmp(reg->templates[i].name, name) == 0)
			return &reg->templates[i];
	return NULL;
}

/* "3.11" pins "3.11.2": each dot-separated component of the pin equals the
 * same component of the version ("3.1" does not pin "3.11.2"). */
static bool version_matches(const char *pin, const char *version)
{
	size_t pl = strlen(pin);
	if (!pl || pin[pl - 1] == '.' || pin[0] == '.' || strstr(pin, ".."))
		return false;
	if (strncmp(pin, version, pl) != 0)
		return false;
	return version[pl] == '\0' || version[pl] == '.';
}

static bool name_matches(const struct rt_runtime *r, const char *name, size_t len)
{
	if (strlen(r->name) == len && strncmp(r->name, name, len) == 0)
		return true;
	for (size_t i = 0; r->aliases && r->aliases[i]; i++)
		if (strlen(r->aliases[i]) == len && strncmp(r->aliases[i], name, len) == 0)
			return true;
	return false;
}

const struct rt_runtime *rt_find_runtime(const struct rt_template *t, const char *spec)
{
	const char *colon = spec ? strchr(spec, ':') : NULL;
	size_t len = colon ? (size_t)(colon - spec) : (spec ? strlen(spec) : 0);

	for (size_t i = 0; t && spec && i < t->nruntimes; i++) {
		const struct rt_runtime *r = &t->runtimes[i];
		if (name_matches(r, spec, len) && (!colon || version_matches(colon + 1, r->version)))
			return r;
	}
	return NULL;
}

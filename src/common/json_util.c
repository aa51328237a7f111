/*
 * json_util.c - small checks on jansson values (see json_util.h).
 */
#include <string.h>

#include "common/json_util.h"

static bool json_str_in(const char *s, const char *const *list)
{
	for (size_t i = 0; list[i]; i++)
		if (strcmp(s, list[i]) == 0)
			return true;
	return false;
}

const char *json_unknown_key(json_t *obj, const char *const *allowed)
{
	const char *key;
	size_t klen;
	json_t *v;

	json_object_keylen_foreach(obj, key, klen, v) {
		if (klen != strlen(key) || !json_str_in(key, allowed))
			return key;
	}
	return NULL;
}

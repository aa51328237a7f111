/*
 * num.c - strict unsigned decimal parsing (see num.h).
 */
#include <errno.h>
#include <stdlib.h>

#include "common/num.h"

int num_parse_u64(const char *s, uint64_t *ret)
{
	char *end = NULL;
	unsigned long long v;

	/* strtoull skips spaces and accepts a sign: a digit must come first. */
	if (!s || *s < '0' || *s > '9')
		return -1;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || *end)
		return -1;
	*ret = (uint64_t)v;
	return 0;
}

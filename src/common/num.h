/*
 * num.h - the one strict parser of unsigned decimals given on a command
 * line (sandbox-fcgi's flags, sandbox-run's options).
 */
#ifndef SANDBOX_COMMON_NUM_H
#define SANDBOX_COMMON_NUM_H

#include <stdint.h>

/* Decimal digits only: no sign, no space, no base prefix, no trailing
 * junk, no overflow (strtoull alone takes " 1", "-1" and "1x"). Returns 0
 * and sets *ret, or -1 leaving *ret alone. */
int num_parse_u64(const char *s, uint64_t *ret);

#endif

/*
 * resp_private.h - shared by the files of the response builder (resp*.c),
 * not part of the contract (api/resp.h).
 */
#ifndef SANDBOX_API_RESP_PRIVATE_H
#define SANDBOX_API_RESP_PRIVATE_H

#include <stdbool.h>
#include <stddef.h>
#include <jansson.h>

/* A string of the streamed answer written straight from the jail's buffer
 * (resp.c builds the tree with a placeholder, resp_write.c fills it in). */
struct resp_big {
	const json_t *slot;              /* the placeholder's address in the tree */
	const char *data;
	size_t len;
	bool base64;                     /* else text: made UTF-8 and escaped */
	const char *suffix;              /* valid UTF-8 appended after a '\n', or NULL */
};
struct resp_bigs { struct resp_big *big; size_t n, alloc; };
/* The escape of a one-byte character in a JSON string as jansson writes
 * it (\" \\ \b \f \n \r \t, other controls \u00XX), or NULL if it stands
 * as it is; tmp holds a \u00XX one. Shared by the result and the lines of
 * a streamed run, so that both escape alike. */
const char *resp_json_escape(unsigned char c, char tmp[8]);
/* Writes tree compactly, exactly as json_dumps(JSON_COMPACT) would with the
 * placeholders replaced. Returns 0 or -1 (write failed or out of memory). */
int resp_tree_write(const json_t *tree, const struct resp_bigs *b,
                    json_dump_callback_t write, void *ctx);

#endif

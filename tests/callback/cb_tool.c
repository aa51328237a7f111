/*
 * cb_tool.c - test driver of src/callback for tests/integration/
 * test_callbacks.py, standing in for the asynchronous run endpoint:
 *   cb_tool enqueue STATE_DIR RUN_ID URL     (body on stdin)
 *   cb_tool check URL [ALLOW...]             (cb_url_check: "ok" or why)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "callback/cb.h"

static int enqueue(const char *state, const char *id, const char *url)
{
	struct cb_store st;
	struct cb_error e;
	char *body = malloc(CB_BODY_MAX);
	size_t len;
	int rc;

	if (!body)
		return 1;
	len = fread(body, 1, CB_BODY_MAX, stdin);
	if (cb_store_open(state, &st, &e) < 0) {
		fprintf(stderr, "%s\n", e.msg);
		free(body);
		return 1;
	}
	rc = cb_enqueue(&st, id, url, body, len, (int64_t)time(NULL), &e);
	if (rc < 0)
		fprintf(stderr, "%s\n", e.msg);
	cb_store_close(&st);
	free(body);
	return rc < 0 ? 1 : 0;
}

static int check(int argc, char **argv)
{
	struct cb_config c;
	char why[256], msg[256];

	cb_config_defaults(&c);
	for (int i = 3; i < argc; i++)
		if (cb_config_option(&c, "callback-allow", argv[i], msg, sizeof msg) < 0) {
			fprintf(stderr, "%s\n", msg);
			return 2;
		}
	if (cb_url_check(&c, argv[2], why, sizeof why) < 0) {
		printf("%s\n", why);
		return 1;
	}
	printf("ok\n");
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 5 && strcmp(argv[1], "enqueue") == 0)
		return enqueue(argv[2], argv[3], argv[4]);
	if (argc >= 3 && strcmp(argv[1], "check") == 0)
		return check(argc, argv);
	fprintf(stderr, "usage: cb_tool enqueue STATE RUN_ID URL < body | cb_tool check URL [ALLOW...]\n");
	return 2;
}

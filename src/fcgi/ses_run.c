/*
 * ses_run.c - POST /api/sandbox/sessions/{id}/run.
 *
 * PLACEHOLDER: this file is replaced by the ses-jail branch (the jail
 * integration: copy-in, run, copy-back under the session lock). Until then
 * the route exists, is documented, and answers 501 not_implemented.
 */
#include "fcgi/svc.h"

void svc_handle_session_run(struct svc *s, struct http_req *r, const struct route *rt)
{
	(void)s;
	(void)rt;
	http_send_error(r, 501, "not_implemented", "session runs are not implemented yet",
	                NULL, NULL);
}

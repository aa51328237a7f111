/*
 * metrics_http.c - GET /api/sandbox/metrics: the pool's shared figures
 * (metrics_shm.c) plus the RootFS templates on disk, in the Prometheus
 * text format. nginx restricts who may ask (nginx/snippets/
 * sandbox-location.conf); the answer holds no request data.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fcgi/log.h"
#include "fcgi/svc.h"

/* The <version> of a template's resolved <template>/<version> directory. */
static const char *template_version(const struct rt_template *t)
{
	const char *slash = t->version_dir ? strrchr(t->version_dir, '/') : NULL;

	return slash ? slash + 1 : (t->version_dir ? t->version_dir : "");
}

/* The asynchronous runs not finished, by state: read from the queue on
 * disk (STATE/runs, two readdirs), as /info's "async" does; absent when
 * asynchronous runs are off. */
static void render_async(struct svc *s, FILE *f)
{
	size_t queued = 0, running = 0;

	if (!s->aq_ok)
		return;
	aq_counts(&s->aq, &queued, &running);
	fprintf(f, "# HELP sandbox_async_runs Asynchronous runs accepted and not finished, by state "
	        "(queued: waiting for a responder; running).\n# TYPE sandbox_async_runs gauge\n"
	        "sandbox_async_runs{state=\"queued\"} %zu\nsandbox_async_runs{state=\"running\"} %zu\n",
	        queued, running);
}

static int render(struct svc *s, char **text, size_t *len)
{
	struct met_template_info *ti = calloc(s->reg.ntemplates + 1, sizeof *ti);
	struct met_view v = {
		.pool_size = s->cfg.pool_size, .shared = s->met.shared,
		.templates = ti, .ntemplates = s->reg.ntemplates, .alive = met_pid_alive,
	};
	FILE *f;
	int rc;

	if (!ti)
		return -1;
	for (size_t i = 0; i < s->reg.ntemplates; i++) {
		const struct rt_template *t = &s->reg.templates[i];

		ti[i] = (struct met_template_info){ t->name, template_version(t),
		                                    t->manifest_hash ? t->manifest_hash : "" };
	}
	f = open_memstream(text, len);
	if (!f) {
		free(ti);
		return -1;
	}
	rc = met_render(f, s->met.store, &v);
	if (rc == 0)
		render_async(s, f);
	if (fclose(f) != 0)
		rc = -1;
	free(ti);
	return rc;
}

void svc_handle_metrics(struct svc *s, struct http_req *r)
{
	char *text = NULL;
	size_t len = 0;

	svc_refresh_registry(s);
	if (!s->met.store || render(s, &text, &len) < 0) {
		free(text);
		http_send_error(r, 500, "internal", "could not render the metrics", NULL, NULL);
		return;
	}
	/* The exposition format's own content type (version 0.0.4). */
	if (FCGX_FPrintF(r->fx->out, "Status: 200 OK\r\nContent-Type: text/plain; version=0.0.4; "
	                 "charset=utf-8\r\nCache-Control: no-store\r\nX-Request-Id: %s\r\n\r\n",
	                 r->request_id) >= 0 && !r->head)
		FCGX_PutStr(text, (int)len, r->fx->out);
	free(text);
}

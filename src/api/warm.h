/*
 * warm.h - warm interpreters (jail_idle_warm): what the responder starts
 * ahead for a runtime, and which jobs it may serve (warm.c).
 */
#ifndef SANDBOX_API_WARM_H
#define SANDBOX_API_WARM_H

#include <stddef.h>

#include "api/req.h"
#include "api/rt.h"
#include "jail/jail.h"

/* The Python bootstrap, rootfs/common/overlay/opt/sandbox/shims/warm.py as
 * built in (src/api/warm_boot.c, generated), NUL-terminated. */
extern const char req_warm_python_boot[];
/* src/api/warm_fork.py followed by warm.py: the warm interpreters' zygote
 * (jail_warm_spec.fork_boot, src/jail/zygote.c). */
extern const char req_warm_python_fork_boot[];

/* The name in the jail of its byte code in a template built from the same
 * text: /opt/sandbox/shims/warm-HASH.pyc, HASH the first 16 hex digits of
 * the text's SHA-256 (scripts/lib/rootfs-build.sh compiles it).  0, or -1
 * if it does not fit. */
#define WARM_PYC_PATH_MAX 64
int req_warm_python_pyc(char out[WARM_PYC_PATH_MAX]);

/* The runtimes a warm interpreter exists for: "python" and "node" (whose
 * template must hold the node bootstrap, /opt/sandbox/shims/warm.js). */
bool req_warm_supported(const struct rt_runtime *rt);

/* What jail_idle_warm() starts for runtime rt of template t: its argv,
 * environment (the defaults a request without env gets), limits (the
 * highest a request may ask for) and key.  The strings are owned by *w
 * (req_warm_free). 0, or -1 (unsupported runtime, out of memory). */
struct req_warm {
	struct jail_warm_spec spec;
	char *key;
	char *rootfs;
	char **argv;
	char **envp;
};
int req_warm_make(const struct rt_template *t, const struct rt_runtime *rt,
                  const struct req_config *cfg, struct req_warm *w);
void req_warm_free(struct req_warm *w);

/* The key a job's spec carries (malloc'd; NULL: out of memory). */
char *req_warm_key(const struct rt_template *t, const struct rt_runtime *rt);

/* Whether a warm interpreter may serve the job: NULL if so (then *frame,
 * malloc'd, is its job for the bootstrap), else why not (static text):
 * another runtime, handler mode, a compile step, a command that is not
 * the runtime's own, an environment variable read at the interpreter's
 * start-up (LC_*, LANGUAGE, PYTHON* or NODE_* but NODE_ENV, OPENSSL_*,
 * SSL_CERT_*, UV_*, or PATH, HOME, LANG with another value), for python a
 * file under
 * /work/.local (the user site directory, HOME being /work). */
const char *req_warm_job(const struct req_job *job, char **frame, size_t *len);

#endif

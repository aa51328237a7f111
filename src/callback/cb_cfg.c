/*
 * cb_cfg.c - the --callback-* flags, shared by sandbox-fcgi (the allowlist,
 * checked at submission) and sandbox-callbacks (the deliverer, which also
 * needs the secret). The secret comes from a file, never the command line:
 * argv is readable by every local user in /proc/PID/cmdline.
 */
#include "callback/cb.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/num.h"

const char *const cb_option_names[] = {
	"callback-allow", "callback-secret-file", "callback-max-attempts",
	"callback-max-age-s", "callback-backoff-s", "callback-backoff-max-s",
	"callback-connect-timeout-ms", "callback-timeout-ms", "callback-proxy",
	"callback-ca-file", NULL,
};

void cb_config_defaults(struct cb_config *c)
{
	memset(c, 0, sizeof *c);
	c->max_attempts = 10;          /* 1+2+...+256 s: about 8.5 min of retries */
	c->max_age_s = 86400;
	c->backoff_base_s = 1;
	c->backoff_max_s = 300;
	c->connect_timeout_ms = 2000;
	c->timeout_ms = 5000;
}

void cb_config_help(FILE *f)
{
	struct cb_config d;

	cb_config_defaults(&d);
	fprintf(f,
	        "  --callback-allow HOST[:PORT]   a host that callback_url may name (repeatable,\n"
	        "                                 up to %d; IPv6 as [ADDR]; no PORT: 80/443 only).\n"
	        "                                 None (the default): callbacks are off\n"
	        "  --callback-secret-file PATH    HMAC-SHA256 key of X-Sandbox-Signature (mode 0600\n"
	        "                                 or stricter, %d..%d bytes; required with an allowlist)\n"
	        "  --callback-max-attempts N      attempts before giving up (default %u)\n"
	        "  --callback-max-age-s N         no attempt later than this after the run (default %" PRIu64 ")\n"
	        "  --callback-backoff-s N         wait after the first failure, doubled each time\n"
	        "                                 (default %" PRIu64 ")\n"
	        "  --callback-backoff-max-s N     longest wait between attempts (default %" PRIu64 ")\n"
	        "  --callback-connect-timeout-ms N  connect + TLS handshake of one attempt (default %" PRIu64 ")\n"
	        "  --callback-timeout-ms N        one whole attempt, DNS included (default %" PRIu64 ")\n"
	        "  --callback-proxy URL           HTTP proxy for callbacks (default: none; the\n"
	        "                                 environment's *_proxy are ignored)\n"
	        "  --callback-ca-file PATH        CA certificates for https callbacks (default: the\n"
	        "                                 system's store)\n",
	        CB_ALLOW_MAX, CB_SECRET_MIN, CB_SECRET_MAX - 1, d.max_attempts, d.max_age_s,
	        d.backoff_base_s, d.backoff_max_s, d.connect_timeout_ms, d.timeout_ms);
}

static int num_opt(const char *arg, uint64_t lo, uint64_t hi, uint64_t *out)
{
	uint64_t v;

	if (num_parse_u64(arg, &v) < 0 || v < lo || v > hi)
		return -1;
	*out = v;
	return 0;
}

static int apply(struct cb_config *c, const char *name, const char *arg)
{
	uint64_t v;

	if (strcmp(name, "callback-allow") == 0) {
		if (c->nallow >= CB_ALLOW_MAX || cb_allow_parse(arg, &c->allow[c->nallow]) < 0)
			return -1;
		c->nallow++;
		return 0;
	}
	if (strcmp(name, "callback-secret-file") == 0)
		return *arg == '/' ? (c->secret_file = arg, 0) : -1;
	if (strcmp(name, "callback-proxy") == 0)
		return *arg ? (c->proxy = arg, 0) : -1;
	if (strcmp(name, "callback-ca-file") == 0)
		return *arg == '/' ? (c->ca_file = arg, 0) : -1;
	if (strcmp(name, "callback-max-attempts") == 0) {
		if (num_opt(arg, 1, 100, &v) < 0)
			return -1;
		c->max_attempts = (unsigned)v;
		return 0;
	}
	if (strcmp(name, "callback-max-age-s") == 0)
		return num_opt(arg, 1, 30 * 86400, &c->max_age_s);
	if (strcmp(name, "callback-backoff-s") == 0)
		return num_opt(arg, 1, 86400, &c->backoff_base_s);
	if (strcmp(name, "callback-backoff-max-s") == 0)
		return num_opt(arg, 1, 86400, &c->backoff_max_s);
	if (strcmp(name, "callback-connect-timeout-ms") == 0)
		return num_opt(arg, 100, 60000, &c->connect_timeout_ms);
	if (strcmp(name, "callback-timeout-ms") == 0)
		return num_opt(arg, 100, 120000, &c->timeout_ms);
	return 1;
}

int cb_config_option(struct cb_config *c, const char *name, const char *arg,
                     char *msg, size_t msglen)
{
	int r = apply(c, name, arg ? arg : "");

	if (r == 1)
		return 0;
	if (r < 0) {
		snprintf(msg, msglen, "invalid value '%s' for '--%s'", arg ? arg : "", name);
		return -1;
	}
	return 1;
}

/* O_NOFOLLOW + fstat on the opened file: what is checked is what is read. */
static int secret_read(struct cb_config *c, char *msg, size_t msglen)
{
	int fd = open(c->secret_file, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY);
	struct stat st;
	ssize_t n;

	if (fd < 0) {
		snprintf(msg, msglen, "--callback-secret-file '%s': %s", c->secret_file,
		         strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || (st.st_mode & 077) != 0 ||
	    (st.st_uid != geteuid() && st.st_uid != 0)) {
		close(fd);
		snprintf(msg, msglen, "--callback-secret-file '%s': must be a regular file owned "
		         "by this user or root with no access for group or others (chmod 600)",
		         c->secret_file);
		return -1;
	}
	n = read(fd, c->secret, sizeof c->secret);
	close(fd);
	if (n > 0 && c->secret[n - 1] == '\n')
		n--;
	if (n < CB_SECRET_MIN || (size_t)n >= sizeof c->secret) {
		snprintf(msg, msglen, "--callback-secret-file '%s': the secret must be %d..%d bytes",
		         c->secret_file, CB_SECRET_MIN, CB_SECRET_MAX - 1);
		return -1;
	}
	c->secret_len = (size_t)n;
	return 0;
}

int cb_config_finish(struct cb_config *c, bool sign, char *msg, size_t msglen)
{
	if (c->backoff_max_s < c->backoff_base_s) {
		snprintf(msg, msglen, "--callback-backoff-max-s is below --callback-backoff-s");
		return -1;
	}
	if (c->connect_timeout_ms > c->timeout_ms) {
		snprintf(msg, msglen, "--callback-connect-timeout-ms is above --callback-timeout-ms");
		return -1;
	}
	if (!sign)
		return 0;
	if (!c->secret_file) {
		if (c->nallow == 0)
			return 0;
		snprintf(msg, msglen, "--callback-allow needs --callback-secret-file");
		return -1;
	}
	return secret_read(c, msg, msglen);
}

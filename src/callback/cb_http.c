/*
 * cb_http.c - one delivery attempt with libcurl: a POST of the stored body,
 * signed, to the stored URL, which is parsed and matched against the
 * allowlist again here (the allowlist may have shrunk since submission).
 * libcurl is held to what a callback needs: http and https only, no
 * redirects, no proxy but the operator's, no netrc, cookies, alt-svc or
 * HSTS files, bounded time and a bounded answer. The socket is opened by
 * our CURLOPT_OPENSOCKETFUNCTION, which refuses every address the operator
 * did not allow (docs/SECURITY.md, "Callbacks").
 */
#include "callback/cb_private.h"

#include <arpa/inet.h>
#include <inttypes.h>
#include <stdarg.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include <curl/curl.h>

#define CB_ANSWER_MAX 65536   /* bytes of the receiver's answer we read */

struct attempt {
	const struct cb_url *url;
	bool proxy;                /* the operator's proxy connects, not us */
	size_t answer;             /* bytes received so far */
	bool refused;              /* our socket callback said no */
};

/* Addresses that no callback may reach through a host name, whatever DNS
 * says: link-local (169.254.169.254 is the cloud metadata service of most
 * providers, fe80::/10) besides those below. */
static bool v4_link_local(uint32_t a)
{
	return (a >> 16) == 0xa9fe;
}

/* Never, not even as a listed literal: unspecified (0.0.0.0 and :: reach
 * this host's own services through connect(2)), multicast, broadcast. */
static bool v4_never(uint32_t a)
{
	return (a >> 24) == 0 || (a >> 28) == 0xe || a == 0xffffffffu;
}

static bool v4_allowed(const struct cb_url *u, const struct in_addr *in)
{
	uint32_t a = ntohl(in->s_addr);
	char text[INET_ADDRSTRLEN];

	if (v4_never(a))
		return false;
	if (u->ip_literal)
		return !u->ipv6 && inet_ntop(AF_INET, in, text, sizeof text) &&
		       strcmp(text, u->host) == 0;
	return !v4_link_local(a);
}

static bool v6_allowed(const struct cb_url *u, const struct in6_addr *a)
{
	char text[INET6_ADDRSTRLEN];

	if (IN6_IS_ADDR_V4MAPPED(a)) {
		struct in_addr v4;

		memcpy(&v4, &a->s6_addr[12], 4);
		if (v4_never(ntohl(v4.s_addr)) || v4_link_local(ntohl(v4.s_addr)))
			return false;
	}
	if (IN6_IS_ADDR_UNSPECIFIED(a) || IN6_IS_ADDR_MULTICAST(a))
		return false;
	if (u->ip_literal)
		return u->ipv6 && inet_ntop(AF_INET6, a, text, sizeof text) &&
		       strcmp(text, u->host) == 0;
	return !IN6_IS_ADDR_LINKLOCAL(a);
}

/* A host that is an IP literal must be connected to exactly; a name to
 * what the resolver said, but for the classes above. */
static bool address_allowed(const struct cb_url *u, const struct sockaddr *sa)
{
	if (sa->sa_family == AF_INET)
		return v4_allowed(u, &((const struct sockaddr_in *)(const void *)sa)->sin_addr);
	if (sa->sa_family == AF_INET6)
		return v6_allowed(u, &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr);
	return false;
}

static curl_socket_t open_socket(void *ctx, curlsocktype purpose, struct curl_sockaddr *a)
{
	struct attempt *at = ctx;

	/* Without a proxy, the only address libcurl connects to is the URL
	 * host's; with the operator's proxy, the proxy's (trusted). */
	if (purpose != CURLSOCKTYPE_IPCXN || (!at->proxy && !address_allowed(at->url, &a->addr))) {
		at->refused = true;
		return CURL_SOCKET_BAD;
	}
	return socket(a->family, a->socktype | SOCK_CLOEXEC, a->protocol);
}

/* The answer is read only for its status: discard it, stop past the cap. */
static size_t discard(char *p, size_t size, size_t n, void *ctx)
{
	struct attempt *at = ctx;

	(void)p;
	at->answer += size * n;
	return at->answer > CB_ANSWER_MAX ? 0 : size * n;
}

/* Appends one formatted header; on failure frees the list, returns NULL. */
__attribute__((format(printf, 2, 3)))
static struct curl_slist *header_add(struct curl_slist *h, const char *fmt, ...)
{
	struct curl_slist *t;
	char line[160];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof line, fmt, ap);
	va_end(ap);
	t = curl_slist_append(h, line);
	if (!t)
		curl_slist_free_all(h);
	return t;
}

/* The timestamp is the attempt's own, so a retry is signed afresh and a
 * receiver's freshness window applies to each delivery. */
static struct curl_slist *headers_new(const struct cb_config *c, const struct cb_record *r,
                                      int64_t now)
{
	char sig[CB_SIG_HEX_LEN + 1];
	struct curl_slist *h = NULL;

	if (cb_sign(c->secret, c->secret_len, now, r->body, r->body_len, sig) < 0)
		return NULL;
	/* "Expect:" removes curl's 100-continue wait on large bodies. */
	if (!(h = header_add(h, "%s", "Content-Type: application/json")) ||
	    !(h = header_add(h, "%s", "Expect:")) ||
	    !(h = header_add(h, "X-Sandbox-Timestamp: %" PRId64, now)) ||
	    !(h = header_add(h, "X-Sandbox-Signature: sha256=%s", sig)) ||
	    !(h = header_add(h, "X-Sandbox-Run-Id: %s", r->run_id)) ||
	    !(h = header_add(h, "X-Sandbox-Attempt: %u", r->attempts + 1)))
		return NULL;
	return h;
}

/* Each setopt is checked: an option this libcurl lacks must fail the
 * attempt, not silently lift a restriction. */
static CURLcode setup(CURL *h, const struct cb_config *c, const struct cb_record *r,
                      struct curl_slist *hdr, struct attempt *at)
{
	CURLcode rc = CURLE_OK;

#define SET(opt, val) do { if (rc == CURLE_OK) rc = curl_easy_setopt(h, opt, val); } while (0)
	SET(CURLOPT_URL, r->url);
	SET(CURLOPT_PROTOCOLS_STR, "http,https");
	SET(CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
	SET(CURLOPT_FOLLOWLOCATION, 0L);
	SET(CURLOPT_PROXY, c->proxy ? c->proxy : "");   /* "": not from the environment */
	SET(CURLOPT_NETRC, (long)CURL_NETRC_IGNORED);
	SET(CURLOPT_NOSIGNAL, 1L);
	SET(CURLOPT_CONNECTTIMEOUT_MS, (long)c->connect_timeout_ms);
	SET(CURLOPT_TIMEOUT_MS, (long)c->timeout_ms);
	SET(CURLOPT_SSL_VERIFYPEER, 1L);
	SET(CURLOPT_SSL_VERIFYHOST, 2L);
	if (c->ca_file)
		SET(CURLOPT_CAINFO, c->ca_file);
	SET(CURLOPT_POST, 1L);
	SET(CURLOPT_POSTFIELDS, r->body);
	SET(CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)r->body_len);
	SET(CURLOPT_HTTPHEADER, hdr);
	SET(CURLOPT_USERAGENT, "sandbox-fcgi-callback/" PACKAGE_VERSION);
	SET(CURLOPT_OPENSOCKETFUNCTION, open_socket);
	SET(CURLOPT_OPENSOCKETDATA, at);
	SET(CURLOPT_WRITEFUNCTION, discard);
	SET(CURLOPT_WRITEDATA, at);
	SET(CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)CB_ANSWER_MAX);
#undef SET
	return rc;
}

long cb_http_post(const struct cb_config *c, const struct cb_record *r, int64_t now,
                  char *detail, size_t detaillen)
{
	struct cb_url u;
	struct attempt at = { .url = &u, .proxy = c->proxy != NULL };
	struct curl_slist *hdr = NULL;
	CURL *h = NULL;
	CURLcode rc;
	long status = 0;

	snprintf(detail, detaillen, "%s", "");
	if (cb_url_parse(r->url, &u, detail, detaillen) < 0)
		return 0;
	if (!cb_url_allowed(c, &u)) {
		snprintf(detail, detaillen, "host no longer on the allowlist");
		return 0;
	}
	hdr = headers_new(c, r, now);
	h = hdr ? curl_easy_init() : NULL;
	if (!h) {
		curl_slist_free_all(hdr);
		snprintf(detail, detaillen, "out of memory");
		return 0;
	}
	rc = setup(h, c, r, hdr, &at);
	if (rc == CURLE_OK)
		rc = curl_easy_perform(h);
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
	if (at.refused)
		snprintf(detail, detaillen, "address refused (not the allowed host's)");
	else if (rc != CURLE_OK && !(rc == CURLE_WRITE_ERROR && status))
		snprintf(detail, detaillen, "%s", curl_easy_strerror(rc));
	if (at.refused || (rc != CURLE_OK && rc != CURLE_WRITE_ERROR &&
	                   rc != CURLE_FILESIZE_EXCEEDED))
		status = 0;
	curl_easy_cleanup(h);
	curl_slist_free_all(hdr);
	return status;
}

int cb_global_init(void)
{
	return curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK ? 0 : -1;
}

void cb_global_cleanup(void)
{
	curl_global_cleanup();
}

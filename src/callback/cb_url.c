/*
 * cb_url.c - callback_url and allowlist parsing, pure code. The grammar is
 * a strict subset of RFC 3986 on purpose: every spelling that a resolver or
 * libcurl could read differently from us is refused rather than normalised
 * (userinfo, percent-encoded or non-ASCII hosts, "127.1", "2130706433",
 * "0x7f.0.0.1", trailing dots, IPv6 zone ids, backslashes), so the host
 * matched against the allowlist is the host libcurl connects to.
 */
#include "callback/cb.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <stdio.h>
#include <string.h>

static int why_fail(char *why, size_t whylen, const char *msg)
{
	if (why && whylen)
		snprintf(why, whylen, "%s", msg);
	return -1;
}

/* A DNS name: labels of [a-z0-9-], 1..63 bytes, not starting or ending with
 * '-', at most CB_HOST_MAX in all; lower-cased into out. A name whose last
 * label is all digits would be read as a number by inet_aton-style parsers
 * ("127.1", "1.2.3.4.5"), so only a full dotted quad may look numeric. */
static int host_name(const char *s, size_t n, char *out)
{
	size_t label = 0;
	bool last_numeric = true;

	if (n == 0 || n > CB_HOST_MAX || s[n - 1] == '.')
		return -1;
	for (size_t i = 0; i < n; i++) {
		char ch = s[i];

		if (ch == '.') {
			if (label == 0 || s[i - 1] == '-')
				return -1;
			label = 0;
			last_numeric = true;
		} else if (isalnum((unsigned char)ch) || ch == '-') {
			if ((label == 0 && ch == '-') || ++label > 63 || !isascii((unsigned char)ch))
				return -1;
			if (!isdigit((unsigned char)ch))
				last_numeric = false;
		} else {
			return -1;
		}
		out[i] = (char)tolower((unsigned char)ch);
	}
	out[n] = '\0';
	if (s[n - 1] == '-')
		return -1;
	return last_numeric ? 1 : 0;   /* 1: looks like a number */
}

/* HOST of a URL or allowlist entry: "[v6]" or an IPv4 dotted quad (both
 * rewritten to inet_ntop's canonical text) or a DNS name. */
static int host_parse(const char *s, size_t n, char *out, bool *ipv6, bool *literal)
{
	char tmp[CB_HOST_MAX + 1];
	unsigned char bin[16];
	int r;

	*ipv6 = *literal = false;
	if (n >= 2 && s[0] == '[' && s[n - 1] == ']') {
		if (n - 2 >= sizeof tmp || n - 2 < 2)
			return -1;
		memcpy(tmp, s + 1, n - 2);
		tmp[n - 2] = '\0';
		/* inet_pton refuses "%zone" and anything but hex, ':' and a
		 * trailing dotted quad. */
		if (inet_pton(AF_INET6, tmp, bin) != 1 ||
		    !inet_ntop(AF_INET6, bin, out, CB_HOST_MAX + 1))
			return -1;
		*ipv6 = *literal = true;
		return 0;
	}
	r = host_name(s, n, tmp);
	if (r < 0)
		return -1;
	if (r == 1) {
		/* inet_pton(AF_INET) takes exactly four decimal parts, no
		 * leading zeros beyond "0" itself in glibc: octal is refused. */
		if (inet_pton(AF_INET, tmp, bin) != 1 || !inet_ntop(AF_INET, bin, out, CB_HOST_MAX + 1) ||
		    strcmp(out, tmp) != 0)
			return -1;
		*literal = true;
		return 0;
	}
	memcpy(out, tmp, strlen(tmp) + 1);
	return 0;
}

/* ":PORT": 1..5 digits, 1..65535. */
static int port_parse(const char *s, size_t n, unsigned *out)
{
	unsigned v = 0;

	if (n == 0 || n > 5)
		return -1;
	for (size_t i = 0; i < n; i++) {
		if (!isdigit((unsigned char)s[i]))
			return -1;
		v = v * 10 + (unsigned)(s[i] - '0');
	}
	if (v == 0 || v > 65535)
		return -1;
	*out = v;
	return 0;
}

/* Splits "HOST[:PORT]" where HOST may be "[v6]"; *port 0 when absent. */
static int authority_parse(const char *s, size_t n, char *host, bool *ipv6, bool *literal,
                           unsigned *port)
{
	size_t hn = n;

	*port = 0;
	if (n > 0 && s[0] == '[') {
		const char *close = memchr(s, ']', n);

		if (!close)
			return -1;
		hn = (size_t)(close - s) + 1;
		if (hn < n && s[hn] != ':')
			return -1;
	} else {
		const char *colon = memchr(s, ':', n);

		if (colon)
			hn = (size_t)(colon - s);
	}
	if (hn < n && port_parse(s + hn + 1, n - hn - 1, port) < 0)
		return -1;
	return host_parse(s, hn, host, ipv6, literal);
}

int cb_allow_parse(const char *s, struct cb_allow *out)
{
	struct cb_allow a;
	bool literal;

	memset(&a, 0, sizeof a);
	if (!s || strlen(s) > CB_HOST_MAX + 8 ||
	    authority_parse(s, strlen(s), a.host, &a.ipv6, &literal, &a.port) < 0)
		return -1;
	*out = a;
	return 0;
}

/* Path and query: RFC 3986 pchar, '/', '?', and %XX with two hex digits. */
static bool target_ok(const char *s)
{
	for (; *s; s++) {
		if (*s == '%') {
			if (!isxdigit((unsigned char)s[1]) || !isxdigit((unsigned char)s[2]))
				return false;
			s += 2;
		} else if (!isalnum((unsigned char)*s) && !strchr("-._~!$&'()*+,;=:@/?", *s)) {
			return false;
		}
	}
	return true;
}

static int scheme_parse(const char *s, bool *https, size_t *skip)
{
	if (strncasecmp(s, "http://", 7) == 0) {
		*https = false;
		*skip = 7;
	} else if (strncasecmp(s, "https://", 8) == 0) {
		*https = true;
		*skip = 8;
	} else {
		return -1;
	}
	return 0;
}

int cb_url_parse(const char *s, struct cb_url *out, char *why, size_t whylen)
{
	struct cb_url u;
	size_t len, skip, alen;
	const char *auth, *end;

	memset(&u, 0, sizeof u);
	if (!s || (len = strnlen(s, CB_URL_MAX + 1)) > CB_URL_MAX)
		return why_fail(why, whylen, "longer than 2048 bytes");
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)s[i] <= 0x20 || (unsigned char)s[i] >= 0x7f || s[i] == '\\')
			return why_fail(why, whylen, "only printable ASCII without spaces or '\\'");
	if (scheme_parse(s, &u.https, &skip) < 0)
		return why_fail(why, whylen, "the scheme must be http or https");
	auth = s + skip;
	end = auth + strcspn(auth, "/?#");
	alen = (size_t)(end - auth);
	if (memchr(auth, '@', alen))
		return why_fail(why, whylen, "user information ('@') is not allowed");
	if (strchr(s, '#'))
		return why_fail(why, whylen, "a fragment ('#') is not allowed");
	if (authority_parse(auth, alen, u.host, &u.ipv6, &u.ip_literal, &u.port) < 0)
		return why_fail(why, whylen, "invalid host or port");
	u.port_explicit = u.port != 0;
	if (!u.port)
		u.port = u.https ? 443 : 80;
	if (*end == '?')
		return why_fail(why, whylen, "a path starting with '/' is required before a query");
	if (!target_ok(end))
		return why_fail(why, whylen, "invalid character in the path or query");
	snprintf(u.target, sizeof u.target, "%s", *end ? end : "/");
	*out = u;
	return 0;
}

/* An entry without a port allows the scheme's default port only (80 for
 * http, 443 for https): a bare host name must not open every service of
 * that host. Hosts compare in canonical form (lower case, inet_ntop). */
bool cb_url_allowed(const struct cb_config *c, const struct cb_url *u)
{
	unsigned def = u->https ? 443 : 80;

	for (size_t i = 0; i < c->nallow; i++) {
		const struct cb_allow *a = &c->allow[i];

		if (a->ipv6 != u->ipv6 || strcmp(a->host, u->host) != 0)
			continue;
		if (a->port ? a->port == u->port : u->port == def)
			return true;
	}
	return false;
}

int cb_url_check(const struct cb_config *c, const char *url, char *why, size_t whylen)
{
	struct cb_url u;
	char msg[160];

	if (c->nallow == 0)
		return why_fail(why, whylen, "callbacks are not enabled on this service");
	if (cb_url_parse(url, &u, msg, sizeof msg) < 0) {
		if (why && whylen)
			snprintf(why, whylen, "invalid URL: %s", msg);
		return -1;
	}
	if (!cb_url_allowed(c, &u))
		return why_fail(why, whylen, "the URL's host and port are not on the service's "
		                "callback allowlist");
	return 0;
}

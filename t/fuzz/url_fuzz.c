/*
 * libFuzzer target for the script URL handling of the script processors
 * (worker/download.c): the scheme check and the redaction that keeps user,
 * password and query out of results and logs.  Whatever the text, the
 * redacted form is a bounded string that never shows the userinfo or the
 * query.  Corpus: t/fuzz/url/.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "worker/download.h"

/* out is "(an invalid URL)" or scheme://host[:port]/path[?…]: no
 * userinfo in the authority, nothing of the query */
static void
check(const char *out)
{
	const char *a, *slash, *q;
	size_t      len = strlen(out);

	if (strcmp(out, "(an invalid URL)") == 0) {
		return;
	}
	if ((a = strstr(out, "://")) == NULL) {
		abort();
	}
	a += 3;
	slash = strchr(a, '/');
	if (memchr(a, '@', slash != NULL ? (size_t) (slash - a) : strlen(a))
	    != NULL) {
		abort();
	}
	q = strchr(out, '?');
	if (q != NULL && len < 500 && strcmp(q, "?\u2026") != 0) {
		abort();
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char  *s = malloc(size + 1);
	char  out[512];

	memcpy(s, data, size);
	s[size] = '\0';
	(void) pj_url_scheme_ok(s);
	memset(out, 'x', sizeof(out));
	pj_url_redact(s, out, sizeof(out));
	if (memchr(out, '\0', sizeof(out)) == NULL) {
		abort();
	}
	check(out);
	free(s);
	return 0;
}

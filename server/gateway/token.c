/*
 * server/gateway/token.c - signed access tokens (see token.h).
 */
#include "server/gateway/token.h"

#include <stdio.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#define TOKEN_PREFIX "pj1."
#define DERIVE_LABEL "pj-gateway-token-v1"

int
pj_gw_token_key_derive(
    const void *secret, size_t len, uint8_t key[PJ_GW_TOKEN_KEY_LEN])
{
	unsigned int n = PJ_GW_TOKEN_KEY_LEN;
	if (secret == NULL || len == 0) {
		return (RAND_bytes(key, PJ_GW_TOKEN_KEY_LEN) == 1 ? 0 : -1);
	}
	HMAC(EVP_sha256(), DERIVE_LABEL, (int) strlen(DERIVE_LABEL), secret,
	    len, key, &n);
	return (0);
}

static void
mac_hex(const uint8_t key[PJ_GW_TOKEN_KEY_LEN], const char *text, size_t len,
    char hex[65])
{
	static const char digits[] = "0123456789abcdef";
	uint8_t           mac[32];
	unsigned int      n = sizeof(mac);
	HMAC(EVP_sha256(), key, PJ_GW_TOKEN_KEY_LEN, (const uint8_t *) text,
	    len, mac, &n);
	for (int i = 0; i < 32; i++) {
		hex[2 * i]     = digits[mac[i] >> 4];
		hex[2 * i + 1] = digits[mac[i] & 15];
	}
	hex[64] = 0;
}

void
pj_gw_token_sign(const uint8_t key[PJ_GW_TOKEN_KEY_LEN], int64_t app_id,
    int64_t expires_ms, char *out, size_t outlen)
{
	char body[80], hex[65];
	int  n = snprintf(body, sizeof(body), TOKEN_PREFIX "%lld.%lld",
	     (long long) app_id, (long long) expires_ms);
	mac_hex(key, body, (size_t) n, hex);
	snprintf(out, outlen, "%s.%s", body, hex);
}

/* A decimal number of 1..19 digits without sign or leading zero; advances
 * *p past it. */
static int
number(const char **p, int64_t *v)
{
	const char *s = *p;
	int64_t     x = 0;
	int         n = 0;
	if (*s == '0' && s[1] >= '0' && s[1] <= '9') {
		return (-1);
	}
	while (*s >= '0' && *s <= '9') {
		if (++n > 18) { /* < 10^18: no overflow */
			return (-1);
		}
		x = x * 10 + (*s++ - '0');
	}
	if (n == 0) {
		return (-1);
	}
	*v = x;
	*p = s;
	return (0);
}

int
pj_gw_token_verify(const uint8_t key[PJ_GW_TOKEN_KEY_LEN], const char *token,
    int64_t now_ms, int64_t *app_id, int64_t *expires_ms)
{
	const char *p = token;
	char        hex[65];
	int64_t     id, exp;
	size_t      body;
	if (token == NULL || strncmp(p, TOKEN_PREFIX, 4) != 0) {
		return (PJ_GW_TOKEN_EINVAL);
	}
	p += 4;
	if (number(&p, &id) != 0 || *p++ != '.' || number(&p, &exp) != 0
	    || *p != '.') {
		return (PJ_GW_TOKEN_EINVAL);
	}
	body = (size_t) (p - token);
	p++;
	if (strlen(p) != 64) {
		return (PJ_GW_TOKEN_EINVAL);
	}
	mac_hex(key, token, body, hex);
	if (CRYPTO_memcmp(hex, p, 64) != 0) {
		return (PJ_GW_TOKEN_EINVAL);
	}
	if (exp <= now_ms) {
		return (PJ_GW_TOKEN_EXPIRED);
	}
	*app_id = id;
	if (expires_ms != NULL) {
		*expires_ms = exp;
	}
	return (PJ_GW_TOKEN_OK);
}

/*
 * server/gateway/token.h - the OpenAPI's access tokens (powerjob-design.md
 * §9.2: PowerJob signs a JWT, HS256, 7 days).
 *
 * A token is text: "pj1.<app id>.<expiry ms>.<HMAC-SHA256 hex>", the MAC
 * taken over everything before the last dot with a 32-byte key.  Checking
 * one costs one HMAC (no PBKDF2, no store), compares the MAC in constant
 * time and then the expiry.  Every server of a deployment derives the same
 * key from the cluster key (pj_gw_token_key_derive), so a token from one
 * server works on all; a server without a cluster key makes a random key
 * at start (its tokens work on it only, until it restarts).
 *
 * Unlike PowerJob's JWT the token does not carry the secret: a changed
 * secret does not end tokens already handed out (they expire).
 *
 * Threads: pure functions.
 */
#ifndef PJ_SERVER_GATEWAY_TOKEN_H
#define PJ_SERVER_GATEWAY_TOKEN_H

#include <stddef.h>
#include <stdint.h>

#define PJ_GW_TOKEN_KEY_LEN 32
#define PJ_GW_TOKEN_MAX 128 /* longest token text, NUL included */
/* PowerJob's oms.auth.security.jwt.expire-seconds: 7 days */
#define PJ_GW_TOKEN_TTL_MS_DEFAULT (7LL * 24 * 3600 * 1000)

enum {
	PJ_GW_TOKEN_OK = 0,
	PJ_GW_TOKEN_EINVAL,  /* not a token, or the MAC does not match */
	PJ_GW_TOKEN_EXPIRED, /* well signed, but past its expiry */
};

/* key = HMAC-SHA256("pj-gateway-token-v1", secret); a NULL or empty
 * secret gives 32 random bytes instead.  0, or -1 when no random bytes. */
int pj_gw_token_key_derive(
    const void *secret, size_t len, uint8_t key[PJ_GW_TOKEN_KEY_LEN]);

/* Writes the token for app_id expiring at expires_ms into out (at least
 * PJ_GW_TOKEN_MAX bytes). */
void pj_gw_token_sign(const uint8_t key[PJ_GW_TOKEN_KEY_LEN], int64_t app_id,
    int64_t expires_ms, char *out, size_t outlen);

/* PJ_GW_TOKEN_OK with *app_id (and *expires_ms, may be NULL) when the
 * token is well formed, signed with key and not expired at now_ms. */
int pj_gw_token_verify(const uint8_t key[PJ_GW_TOKEN_KEY_LEN],
    const char *token, int64_t now_ms, int64_t *app_id, int64_t *expires_ms);

#endif

/*
 * gateway_fuzz.c - libFuzzer target for the OpenAPI gateway's request path
 * before the store (server/gateway/request.h): the bytes of one request
 * are decoded as a pj.openapi.Request and validated (every operation's
 * fields, time expressions and lifecycles through server/timing), and a
 * token in the credentials is verified.  Nothing may crash, leak, or be
 * refused without a message.  Build and run: `make fuzz` (corpus
 * t/fuzz/gateway/).
 */
#include <stdlib.h>
#include <string.h>

#include "server/gateway/request.h"
#include "server/gateway/token.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t        key[PJ_GW_TOKEN_KEY_LEN];
	char                  err[PJ_GW_ERR_MAX];
	Pj__Openapi__Request *r;
	int64_t               app;

	if (key[0] == 0) {
		pj_gw_token_key_derive("fuzz", 4, key);
	}
	err[0] = 0;
	r      = pj_gw_request_decode(data, size, err, sizeof(err));
	if (r == NULL) {
		if (err[0] == 0) {
			abort(); /* refused without a message */
		}
		return (0);
	}
	err[0] = 0;
	if (pj_gw_request_validate(r, 1800000000000LL, err, sizeof(err)) != 0
	    && err[0] == 0) {
		abort();
	}
	if (r->auth != NULL) {
		pj_gw_token_verify(
		    key, r->auth->token, 1800000000000LL, &app, NULL);
	}
	pj_gw_request_free(r);
	return (0);
}

/*
 * actors/gateway.h - the OpenAPI gateway of a server (docs/gateway.md): an
 * nng REP socket on its own port carrying proto/openapi.proto, served by
 * /user/gateway and its handler children.
 *
 * Start it after the server's actors (it asks /user/friend for the
 * operations that need an app's owner), close it before ar_system_stop
 * (no nng callback may reach a stopped system) and free it after.
 */
#ifndef PJ_ACTORS_GATEWAY_H
#define PJ_ACTORS_GATEWAY_H

#include "actors/server_env.h"

#define PJ_GATEWAY_ACTOR "gateway"
#define PJ_GATEWAY_URL_DEFAULT "tcp://127.0.0.1:10087"
#define PJ_GATEWAY_CONTEXTS 64 /* requests in progress at once */
#define PJ_GATEWAY_HANDLERS 4  /* blocking children running them */
/* the FriendActor's relay may ask the owner twice (PJ_FORWARD_TIMEOUT_MS
 * each) */
#define PJ_GATEWAY_OWNER_TIMEOUT_MS (3 * PJ_FORWARD_TIMEOUT_MS)

struct pj_gateway;

struct pj_gateway_config {
	const char *url;          /* tcp://HOST:PORT (port 0 = any) */
	int64_t     token_ttl_ms; /* 0 = PJ_GW_TOKEN_TTL_MS_DEFAULT */
	const void *key;          /* the cluster key (tokens are signed with a
	                             key derived from it); NULL = random */
	size_t key_len;
};

/* Opens the socket, spawns /user/gateway and its handlers. */
int pj_gateway_start(struct pj_server_env *env,
    const struct pj_gateway_config *cfg, struct pj_gateway **gwp);
/* The bound port. */
int pj_gateway_port(const struct pj_gateway *gw);
/* Stops receiving and replying; nng's callbacks are over when it returns. */
void pj_gateway_close(struct pj_gateway *gw);
/* Frees it; after ar_system_stop. */
void pj_gateway_free(struct pj_gateway *gw);

#endif

/*
 * pjctl_gw.c - pjctl's gateway client: one nng REQ socket, one request at a
 * time (programs/pjctl.h).  REQ's resend is off (a request is sent once:
 * run-job is not idempotent); the receive timeout is --timeout.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <nng/nng.h>
#include <nng/protocol/reqrep0/req.h>

#include "programs/pjctl.h"

static int
connect_gw(struct pjctl *o)
{
	nng_socket s;
	int        rv;
	if (o->connected) {
		return (0);
	}
	if ((rv = nng_req0_open(&s)) != 0) {
		fprintf(stderr, "pjctl: %s\n", nng_strerror(rv));
		return (PJCTL_FAILED);
	}
	nng_socket_set_ms(s, NNG_OPT_REQ_RESENDTIME, NNG_DURATION_INFINITE);
	nng_socket_set_ms(s, NNG_OPT_RECVTIMEO, o->timeout_ms);
	nng_socket_set_ms(s, NNG_OPT_SENDTIMEO, o->timeout_ms);
	nng_socket_set_size(s, NNG_OPT_RECVMAXSZ, 64u << 20);
	if ((rv = nng_dial(s, o->gateway, NULL, 0)) != 0) {
		fprintf(stderr,
		    "pjctl: cannot reach the gateway at %s: %s (--gateway, "
		    "PJ_GATEWAY)\n",
		    o->gateway, nng_strerror(rv));
		nng_close(s);
		return (rv == NNG_EADDRINVAL || rv == NNG_ENOTSUP
		        ? PJCTL_USAGE
		        : PJCTL_UNREACHABLE);
	}
	o->sock      = s.id;
	o->connected = 1;
	return (0);
}

void
pjctl_close(struct pjctl *o)
{
	if (o->connected) {
		nng_socket s = { o->sock };
		nng_close(s);
		o->connected = 0;
	}
}

int
pjctl_call(struct pjctl *o, Pj__Openapi__Request *rq, Pj__Openapi__Reply **rp)
{
	Pj__Openapi__Credentials cr = PJ__OPENAPI__CREDENTIALS__INIT;
	nng_socket               s;
	nng_msg                 *m;
	int                      rv;

	*rp = NULL;
	if ((rv = connect_gw(o)) != 0) {
		return (rv);
	}
	s.id = o->sock;
	if (rq->auth == NULL) {
		cr.app_name = o->app;
		cr.secret   = o->secret;
		cr.token    = o->token;
		rq->auth    = &cr;
	}
	size_t n = pj__openapi__request__get_packed_size(rq);
	if (nng_msg_alloc(&m, n) != 0) {
		abort();
	}
	pj__openapi__request__pack(rq, nng_msg_body(m));
	if (rq->auth == &cr) {
		rq->auth = NULL;
	}
	if ((rv = nng_sendmsg(s, m, 0)) != 0) {
		nng_msg_free(m);
	} else if ((rv = nng_recvmsg(s, &m, 0)) == 0) {
		*rp = pj__openapi__reply__unpack(
		    NULL, nng_msg_len(m), nng_msg_body(m));
		nng_msg_free(m);
		if (*rp == NULL) {
			fprintf(stderr,
			    "pjctl: the gateway at %s answered with bytes "
			    "that are not a reply (another service?)\n",
			    o->gateway);
			return (PJCTL_FAILED);
		}
		return (0);
	}
	fprintf(stderr,
	    "pjctl: no answer from the gateway at %s within %d ms "
	    "(%s)\n",
	    o->gateway, o->timeout_ms, nng_strerror(rv));
	return (PJCTL_UNREACHABLE);
}

int
pjctl_reply_fail(const Pj__Openapi__Reply *r)
{
	const ProtobufCEnumValue *v = protobuf_c_enum_descriptor_get_value(
	    &pj__openapi__code__descriptor, r->code);
	fprintf(stderr, "pjctl: %s (%s %d)\n", r->message,
	    v ? v->name : "code", (int) r->code);
	switch (r->code) {
	case PJ__OPENAPI__CODE__INCORRECT_PASSWORD:
	case PJ__OPENAPI__CODE__INVALID_TOKEN:
	case PJ__OPENAPI__CODE__INVALID_APP:
	case PJ__OPENAPI__CODE__TOKEN_EXPIRED:
		return (PJCTL_AUTH);
	case PJ__OPENAPI__CODE__INVALID_REQUEST:
		return (r->message[0] && strncmp(r->message, "auth", 4) == 0
		        ? PJCTL_AUTH
		        : PJCTL_FAILED);
	default:
		return (PJCTL_FAILED);
	}
}

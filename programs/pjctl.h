/*
 * pjctl.h - what pjctl's files share (programs/pjctl*.c): the options, the
 * gateway client (pjctl_gw.c), protobuf <-> JSON (pjctl_json.c) and the
 * command groups (pjctl_cmd.c: app, job, instance, worker).
 */
#ifndef PJ_PROGRAMS_PJCTL_H
#define PJ_PROGRAMS_PJCTL_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include <jansson.h>

#include "proto/openapi.pb-c.h"

/* exit codes (documented in --help and the README) */
enum {
	PJCTL_OK          = 0,
	PJCTL_FAILED      = 1, /* the operation failed */
	PJCTL_USAGE       = 2,
	PJCTL_AUTH        = 3, /* authentication */
	PJCTL_UNREACHABLE = 4, /* no gateway answered */
};

#define PJCTL_GATEWAY_DEFAULT "tcp://127.0.0.1:10087"
#define PJCTL_TIMEOUT_MS_DEFAULT 10000

struct pjctl {
	char gateway[512];
	char app[256];
	char secret[1100];
	char token[300];
	int  timeout_ms;
	bool json;
	bool verbose;
	/* the gateway connection, opened on first use */
	int      connected;
	uint32_t sock;
};

/* Sends rq (credentials filled in from o) and waits for the reply: 0 with
 * *rp (free with pj__openapi__reply__free_unpacked), or PJCTL_UNREACHABLE
 * after a message on stderr. */
int pjctl_call(struct pjctl *o, Pj__Openapi__Request *rq,
    Pj__Openapi__Reply **rp);
void pjctl_close(struct pjctl *o);
/* The exit code for a reply that failed (and prints its message). */
int pjctl_reply_fail(const Pj__Openapi__Reply *r);

/* A message as a JSON object (every field, oneofs: the one set). */
json_t *pjctl_pb_to_json(const ProtobufCMessage *m);
/* Fills m's scalar fields from a JSON object's keys of the same names;
 * -1 with err naming the key that is unknown or of the wrong type. */
int pjctl_json_to_pb(
    json_t *obj, ProtobufCMessage *m, char *err, size_t errlen);
void pjctl_print_json(json_t *j); /* and frees it */

/* The command groups: argv[0] is the group's name. */
int pjctl_app(struct pjctl *o, int argc, char **argv);
int pjctl_job(struct pjctl *o, int argc, char **argv);
int pjctl_instance(struct pjctl *o, int argc, char **argv);
int pjctl_worker(struct pjctl *o, int argc, char **argv);

const char *pjctl_status_name(int status);
void        pjctl_time(int64_t ms, char *buf, size_t n);

#endif

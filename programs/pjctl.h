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
int pjctl_call(
    struct pjctl *o, Pj__Openapi__Request *rq, Pj__Openapi__Reply **rp);
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

/* ---- shared by the command files (pjctl_args.c) ---- */
struct opt {
	const char *name; /* without the dashes */
	int         flag; /* 1 = no value */
	const char *v;
};

/* Parses argv[1..] into opts and up to maxpos positionals; PJCTL_USAGE
 * after a message. */
int         pjctl_parse(int argc, char **argv, struct opt *o, size_t no,
            const char **pos, int maxpos, int *npos);
const char *pjctl_get(const struct opt *o, size_t no, const char *name);
#define GET(name) pjctl_get(opts, sizeof(opts) / sizeof(opts[0]), name)
#define PARSE(maxpos)                                                         \
	do {                                                                  \
		int prv = pjctl_parse(argc, argv, opts,                       \
		    sizeof(opts) / sizeof(opts[0]), pos, maxpos, &npos);      \
		if (prv != 0)                                                 \
			return (prv);                                         \
	} while (0)

/* A whole number; -1 and a message when v is not one. */
int pjctl_num(const char *what, const char *v, int64_t *out);
/* The id argument of command cmd: 0, or PJCTL_USAGE after a message. */
int pjctl_id_arg(const char *cmd, const char *v, int64_t *id);

/* Enums by name (case-insensitive, '-' = '_') or number. */
struct name_code {
	const char *name;
	int         code;
};
extern const struct name_code pjctl_time_types[], pjctl_exec_types[],
    pjctl_proc_types[], pjctl_strategies[], pjctl_job_status[],
    pjctl_inst_status[];
const char *pjctl_code_name(const struct name_code *t, int code);
int         pjctl_code_of(
            const char *what, const struct name_code *t, const char *v, int *out);
/* A comma-separated list of codes into v (at most 16). */
int pjctl_codes_of(const char *what, const struct name_code *t,
    const char *list, int32_t *v, size_t *n);

/* Calls; prints the failure (exit code returned) or, with --json, the
 * reply; on success *rp is left for the table. */
int pjctl_call_ok(
    struct pjctl *o, Pj__Openapi__Request *rq, Pj__Openapi__Reply **rp);
void pjctl_done(Pj__Openapi__Reply *r); /* frees a reply (or NULL) */

void pjctl_print_jobs(Pj__Openapi__JobInfo **v, size_t n);
void pjctl_print_job(const Pj__Openapi__JobInfo *j);
void pjctl_print_instances(Pj__Openapi__InstanceInfo **v, size_t n);

#endif

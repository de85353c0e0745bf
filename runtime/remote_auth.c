/*
 * remote_auth.c - the wire's hello: the cluster-key handshake that opens
 * every connection, and the bookkeeping of refused peers.
 *
 * Design notes
 * ------------
 * - Every node of a deployment shares a cluster key (ar_config
 *   cluster_key).  A connection opens with four messages, each side
 *   proving the key over both sides' fresh nonces before anything else is
 *   read (remote.c has the layout):
 *     dialer -> acceptor   hello D: PJAR, version 3, flags, its limit, nonce
 *     acceptor -> dialer   hello A: the same, with its own nonce
 *     dialer -> acceptor   proof D = HMAC-SHA256(key, "pjar3 dialer" || D ||
 * A) acceptor -> dialer   proof A = HMAC-SHA256(key, "pjar3 acceptor" || D ||
 * A) The acceptor proves nothing to a dialer that has not proved the key
 *   first, so anyone who can reach the port gets no MAC to guess a weak key
 *   offline with; the role label keeps a proof from being reflected; the
 *   fresh nonces keep a recorded handshake from being replayed.  Proofs are
 *   compared with CRYPTO_memcmp.  Both limits are inside the proofs.
 * - No key (Redis's protected mode): the proofs are made with an empty key
 *   (so a keyed and an unkeyed node never agree), and only loopback peers
 *   are accepted or dialled; remote_start says so.
 * - The key is copied at start, never logged, and wiped at stop.
 * - A refusal is one dead letter (UNAUTHENTICATED) each time and one log
 *   line per peer address: the addresses already logged are a ring of
 *   SEEN_MAX (an address pushed out may be logged again).  seen_mtx is a
 *   leaf lock.
 */
#include "runtime/remote_int.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const uint8_t magic[4]         = { 'P', 'J', 'A', 'R' };
static const char    label_dialer[]   = "pjar3 dialer";
static const char    label_acceptor[] = "pjar3 acceptor";

static bool
host_is_loopback(const char *h)
{
	return (strncmp(h, "127.", 4) == 0 || strcmp(h, "localhost") == 0
	    || strcmp(h, "::1") == 0 || strcmp(h, "[::1]") == 0);
}

int
auth_start(ar_system *sys, remote *r)
{
	const char *url       = sys->cfg.listen_url;
	char        host[256] = "";
	pthread_mutex_init(&r->seen_mtx, NULL);
	if (sys->cfg.cluster_key != NULL) {
		r->key_len = sys->cfg.cluster_key_len;
		r->key     = ar_xmalloc(r->key_len);
		memcpy(r->key, sys->cfg.cluster_key, r->key_len);
	}
	if (url == NULL) {
		return (0);
	}
	if (strncmp(url, "tcp://", 6) == 0) {
		const char *p = url + 6, *colon = strrchr(p, ':');
		if (colon != NULL && (size_t) (colon - p) < sizeof(host)) {
			memcpy(host, p, (size_t) (colon - p));
			host[colon - p] = '\0';
		}
	}
	if (r->key != NULL) {
		ar_log(AR_LOG_INFO, "remote",
		    "system=%s links are authenticated: every peer proves the "
		    "cluster key in its hello",
		    sys->name);
	} else {
		ar_log(host_is_loopback(host) ? AR_LOG_INFO : AR_LOG_WARN,
		    "remote",
		    "system=%s has no cluster key: protected mode, only "
		    "loopback peers are accepted (set a cluster key to talk "
		    "to other hosts)",
		    sys->name);
	}
	return (0);
}

void
auth_stop(remote *r)
{
	if (r->key != NULL) {
		OPENSSL_cleanse(r->key, r->key_len);
		free(r->key);
		r->key = NULL;
	}
	pthread_mutex_destroy(&r->seen_mtx);
}

static void
put_be32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t) (v >> 24);
	p[1] = (uint8_t) (v >> 16);
	p[2] = (uint8_t) (v >> 8);
	p[3] = (uint8_t) v;
}

void
hello_fill(ar_system *sys, uint8_t out[HELLO_BYTES])
{
	memcpy(out, magic, 4);
	out[4] = 0;
	out[5] = HELLO_VERSION;
	out[6] = sys->rem->key != NULL ? HELLO_KEYED : 0;
	out[7] = 0;
	put_be32(out + 8, (uint32_t) sys->cfg.max_message_bytes);
	if (RAND_bytes(out + 12, NONCE_BYTES) != 1) {
		ar_log(AR_LOG_ERROR, "remote", "RAND_bytes failed: no nonce");
		abort(); /* no safe way on without randomness */
	}
}

/*
 * Judges the first `have` bytes of a hello: 1 if they are a good prefix
 * (wait for more), 0 if a whole version-3 hello is there (*peer_maxp gets
 * the peer's limit), AR_EDECODE if it is not ours at all, AR_ETYPE for
 * another version (told as soon as the version is there: a version-2
 * peer sends 12 bytes and waits).
 */
int
hello_check(const uint8_t *p, size_t have, size_t *peer_maxp)
{
	uint32_t max;
	size_t   n = have < 4 ? have : 4;
	if (memcmp(p, magic, n) != 0) {
		return (AR_EDECODE);
	}
	if (have < 6) {
		return (1);
	}
	if (p[4] != 0 || p[5] != HELLO_VERSION) {
		return (p[4] == 0 && p[5] > 0 && p[5] < 16 ? AR_ETYPE
		                                           : AR_EDECODE);
	}
	if (have < HELLO_BYTES) {
		return (1);
	}
	max = (uint32_t) p[8] << 24 | (uint32_t) p[9] << 16
	    | (uint32_t) p[10] << 8 | p[11];
	if (max < 64 || max > AR_MAX_MESSAGE_BYTES || (p[6] & ~HELLO_KEYED)) {
		return (AR_EDECODE);
	}
	*peer_maxp = max;
	return (0);
}

/* NULL if the peer's hello says it has a key iff we have one, else why
 * not (the flag is only for the message: the proofs decide). */
const char *
hello_keys_differ(remote *r, const uint8_t *peer_hello)
{
	bool theirs = (peer_hello[6] & HELLO_KEYED) != 0;
	if (theirs == (r->key != NULL)) {
		return (NULL);
	}
	return (theirs ? "the peer has a cluster key and this node none"
	               : "the peer has no cluster key");
}

void
hello_proof(remote *r, bool dialer, const uint8_t *dialer_hello,
    const uint8_t *acceptor_hello, uint8_t out[PROOF_BYTES])
{
	static const uint8_t none[1] = { 0 };
	uint8_t              msg[32 + 2 * HELLO_BYTES];
	size_t               n = 0;
	unsigned int         outlen;
	const char          *label = dialer ? label_dialer : label_acceptor;
	memcpy(msg, label, strlen(label));
	n += strlen(label);
	memcpy(msg + n, dialer_hello, HELLO_BYTES);
	n += HELLO_BYTES;
	memcpy(msg + n, acceptor_hello, HELLO_BYTES);
	n += HELLO_BYTES;
	if (HMAC(EVP_sha256(), r->key != NULL ? r->key : none,
	        (int) (r->key != NULL ? r->key_len : 0), msg, n, out, &outlen)
	        == NULL
	    || outlen != PROOF_BYTES) {
		ar_log(AR_LOG_ERROR, "remote", "HMAC-SHA256 failed");
		abort();
	}
}

bool
hello_proof_ok(remote *r, bool dialer, const uint8_t *dialer_hello,
    const uint8_t *acceptor_hello, const uint8_t *proof)
{
	uint8_t want[PROOF_BYTES];
	bool    ok;
	hello_proof(r, dialer, dialer_hello, acceptor_hello, want);
	ok = CRYPTO_memcmp(want, proof, PROOF_BYTES) == 0;
	OPENSSL_cleanse(want, sizeof(want));
	return (ok);
}

/* The stream's peer as "ip:port" in name and "ip" in ip; true if it is on
 * loopback (127/8, ::1, ::ffff:127/104). */
bool
stream_peer(nng_stream *s, char *name, size_t n, char *ip, size_t ipn)
{
	nng_sockaddr sa;
	snprintf(name, n, "?");
	snprintf(ip, ipn, "?");
	if (nng_stream_get_addr(s, NNG_OPT_REMADDR, &sa) != 0) {
		return (false);
	}
	if (sa.s_family == NNG_AF_INET) {
		const uint8_t *a = (const uint8_t *) &sa.s_in.sa_addr;
		const uint8_t *p = (const uint8_t *) &sa.s_in.sa_port;
		snprintf(ip, ipn, "%u.%u.%u.%u", a[0], a[1], a[2], a[3]);
		snprintf(name, n, "%s:%u", ip, (unsigned) (p[0] << 8 | p[1]));
		return (a[0] == 127);
	}
	if (sa.s_family == NNG_AF_INET6) {
		static const uint8_t lo[16]  = { [15] = 1 };
		static const uint8_t v4m[12] = { [10] = 0xff, [11] = 0xff };
		const uint8_t       *a       = sa.s_in6.sa_addr;
		const uint8_t       *p = (const uint8_t *) &sa.s_in6.sa_port;
		size_t               k = 0;
		for (int i = 0; i < 16; i += 2) {
			k += (size_t) snprintf(ip + k, ipn > k ? ipn - k : 0,
			    "%s%x", i ? ":" : "",
			    (unsigned) (a[i] << 8 | a[i + 1]));
		}
		snprintf(
		    name, n, "[%s]:%u", ip, (unsigned) (p[0] << 8 | p[1]));
		return (memcmp(a, lo, 16) == 0
		    || (memcmp(a, v4m, 12) == 0 && a[12] == 127));
	}
	return (false);
}

/* One warning per peer address (while it stays in the ring). */
void
refusal_log(ar_system *sys, const char *addr, const char *what)
{
	remote *r = sys->rem;
	bool new  = true;
	pthread_mutex_lock(&r->seen_mtx);
	for (uint32_t i = 0; i < r->nseen; i++) {
		if (strcmp(r->seen[i], addr) == 0) {
			new = false;
			break;
		}
	}
	if (new) {
		snprintf(
		    r->seen[r->seen_next], sizeof(r->seen[0]), "%s", addr);
		r->seen_next = (r->seen_next + 1) % SEEN_MAX;
		if (r->nseen < SEEN_MAX) {
			r->nseen++;
		}
	}
	pthread_mutex_unlock(&r->seen_mtx);
	if (new) {
		ar_log(AR_LOG_WARN, "remote",
		    "system=%s refused %s: %s (logged once per address; each "
		    "refusal is an UNAUTHENTICATED dead letter)",
		    sys->name, addr, what);
	}
}

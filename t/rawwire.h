/*
 * rawwire.h - the runtime's wire handshake (runtime/remote_auth.c) spoken
 * over a plain TCP socket by tests that write raw bytes at a port.
 */
#ifndef PJ_T_RAWWIRE_H
#define PJ_T_RAWWIRE_H

#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define RW_HELLO 28
#define RW_PROOF 32

static inline int
rw_connect(int port)
{
	struct sockaddr_in sa;
	int                fd = socket(AF_INET, SOCK_STREAM, 0);
	memset(&sa, 0, sizeof(sa));
	sa.sin_family      = AF_INET;
	sa.sin_port        = htons((uint16_t) port);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (connect(fd, (struct sockaddr *) &sa, sizeof(sa)) != 0) {
		close(fd);
		return (-1);
	}
	return (fd);
}

/* "PJAR", version 3, flags (1 = keyed), reserved, max (BE), nonce. */
static inline void
rw_hello(uint8_t out[RW_HELLO], uint32_t max, bool keyed)
{
	static const uint8_t h[8] = { 'P', 'J', 'A', 'R', 0, 3, 0, 0 };
	memcpy(out, h, 8);
	out[6]  = keyed ? 1 : 0;
	out[8]  = (uint8_t) (max >> 24);
	out[9]  = (uint8_t) (max >> 16);
	out[10] = (uint8_t) (max >> 8);
	out[11] = (uint8_t) max;
	RAND_bytes(out + 12, 16);
}

static inline void
rw_proof(const void *key, size_t keylen, bool dialer, const uint8_t *d,
    const uint8_t *a, uint8_t out[RW_PROOF])
{
	static const uint8_t none[1] = { 0 };
	const char *label = dialer ? "pjar3 dialer" : "pjar3 acceptor";
	uint8_t     msg[64 + 2 * RW_HELLO];
	size_t      n = strlen(label);
	unsigned    len;
	memcpy(msg, label, n);
	memcpy(msg + n, d, RW_HELLO);
	memcpy(msg + n + RW_HELLO, a, RW_HELLO);
	HMAC(EVP_sha256(), key != NULL ? key : none, (int) keylen, msg,
	    n + 2 * RW_HELLO, out, &len);
}

/* Reads exactly n bytes (up to about 3 s); false on EOF or timeout. */
static inline bool
rw_read(int fd, uint8_t *buf, size_t n)
{
	struct timeval tv = { 3, 0 };
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	for (size_t have = 0; have < n;) {
		ssize_t k = recv(fd, buf + have, n - have, 0);
		if (k <= 0) {
			return (false);
		}
		have += (size_t) k;
	}
	return (true);
}

/*
 * The dialer's half on fd: hello (max 4096), the peer's hello, our proof
 * under key (NULL = none), the peer's proof checked.  0 if the link is up;
 * -1 if the peer closed or proved another key.  mine/sent (optional) get
 * our hello and our proof, for replays.
 */
static inline int
rw_handshake(
    int fd, const void *key, size_t keylen, uint8_t *mine, uint8_t *sent)
{
	uint8_t d[RW_HELLO], a[RW_HELLO], p[RW_PROOF], q[RW_PROOF];
	rw_hello(d, 4096, key != NULL);
	if (write(fd, d, sizeof(d)) != (ssize_t) sizeof(d)
	    || !rw_read(fd, a, sizeof(a))) {
		return (-1);
	}
	rw_proof(key, keylen, true, d, a, p);
	if (mine != NULL) {
		memcpy(mine, d, sizeof(d));
	}
	if (sent != NULL) {
		memcpy(sent, p, sizeof(p));
	}
	if (write(fd, p, sizeof(p)) != (ssize_t) sizeof(p)
	    || !rw_read(fd, q, sizeof(q))) {
		return (-1);
	}
	rw_proof(key, keylen, false, d, a, p);
	return (CRYPTO_memcmp(p, q, sizeof(p)) == 0 ? 0 : -1);
}

#endif

/*
 * mailbox.c - an actor's FIFO of nng_msg: a growable ring.  Not locked
 * here: the owning cell's mutex guards it (one short critical section per
 * push or pop, and a dispatcher pops a whole turn's batch under one lock).
 * A ring of pointers costs no allocation per message, unlike a linked list
 * of nodes, and nng_msg has no link field of its own.
 */
#include "runtime/internal.h"

#include <stdlib.h>
#include <string.h>

void
mailbox_init(mailbox *mb)
{
	memset(mb, 0, sizeof(*mb));
}

void
mailbox_fini(mailbox *mb)
{
	nng_msg *m;
	while ((m = mailbox_pop(mb)) != NULL) {
		nng_msg_free(m);
	}
	free(mb->ring);
	memset(mb, 0, sizeof(*mb));
}

void
mailbox_push(mailbox *mb, nng_msg *m)
{
	if (mb->len == mb->cap) {
		uint32_t  ncap = mb->cap ? mb->cap * 2 : 16;
		nng_msg **nr   = ar_xmalloc(ncap * sizeof(nng_msg *));
		for (uint32_t i = 0; i < mb->len; i++) {
			nr[i] = mb->ring[(mb->head + i) & (mb->cap - 1)];
		}
		free(mb->ring);
		mb->ring = nr;
		mb->cap  = ncap;
		mb->head = 0;
	}
	mb->ring[(mb->head + mb->len) & (mb->cap - 1)] = m;
	mb->len++;
}

nng_msg *
mailbox_pop(mailbox *mb)
{
	nng_msg *m;
	if (mb->len == 0) {
		return (NULL);
	}
	m        = mb->ring[mb->head];
	mb->head = (mb->head + 1) & (mb->cap - 1);
	mb->len--;
	if (mb->len == 0 && mb->cap > 65536) {
		/* give back memory after a large burst (small rings stay:
		 * freeing and regrowing them on every drain costs more than
		 * they weigh) */
		free(mb->ring);
		mb->ring = NULL;
		mb->cap = mb->head = 0;
	}
	return (m);
}

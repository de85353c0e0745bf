/*
 * mailbox.c - an actor's FIFO of nng_msg: a lock-free multi-producer,
 * single-consumer queue (Dmitry Vyukov's intrusive MPSC queue).
 *
 * Design notes
 * ------------
 * - Producers (any thread that tells) push with one atomic exchange and one
 *   store; they never wait for each other or for the consumer.  Before this
 *   queue, a mutex-guarded ring made four senders into one actor spend an
 *   eighth of their time in the lock.
 * - The node lives in the message itself: every runtime message carries a
 *   msg_hdr plus an mq_node in its nng header, which nng 1.5.2 keeps inline
 *   (64 bytes at offset 0 of the message), so a push allocates nothing.
 * - The consumer is whoever holds the actor's turn (internal.h).  A pop can
 *   return NULL while a producer is between its exchange and its store; the
 *   caller's pending count tells it to come back.
 * - `len` counts queued messages for the mailbox bound and for AdminActor;
 *   it is updated after the push and the pop, so it is approximate while
 *   either is in flight.
 * - A small consumer-private ring (`front`) holds messages the consumer
 *   took but has to keep for a later turn (see cell_turn).
 */
#include "runtime/internal.h"

#include <stdlib.h>
#include <string.h>

void
mailbox_init(mailbox *mb)
{
	memset(mb, 0, sizeof(*mb));
	atomic_init(&mb->sentinel.next, NULL);
	atomic_init(&mb->head, &mb->sentinel);
	mb->tail = &mb->sentinel;
	atomic_init(&mb->len, 0);
}

void
mailbox_fini(mailbox *mb)
{
	nng_msg *m;
	while ((m = mailbox_pop(mb)) != NULL) {
		nng_msg_free(m);
	}
	free(mb->front);
	mb->front = NULL;
}

static void
push_node(mailbox *mb, mq_node *n)
{
	mq_node *prev;
	atomic_store_explicit(&n->next, NULL, memory_order_relaxed);
	prev = atomic_exchange_explicit(&mb->head, n, memory_order_acq_rel);
	atomic_store_explicit(&prev->next, n, memory_order_release);
}

void
mailbox_push(mailbox *mb, nng_msg *m)
{
	mq_node *n = node_of(m);
	n->msg     = m;
	push_node(mb, n);
	atomic_fetch_add_explicit(&mb->len, 1, memory_order_relaxed);
}

static mq_node *
pop_node(mailbox *mb)
{
	mq_node *tail = mb->tail;
	mq_node *next
	    = atomic_load_explicit(&tail->next, memory_order_acquire);
	if (tail == &mb->sentinel) {
		if (next == NULL) {
			return (NULL);
		}
		mb->tail = next;
		tail     = next;
		next = atomic_load_explicit(&next->next, memory_order_acquire);
	}
	if (next != NULL) {
		mb->tail = next;
		return (tail);
	}
	if (tail != atomic_load_explicit(&mb->head, memory_order_acquire)) {
		return (NULL); /* a producer is between exchange and store */
	}
	push_node(mb, &mb->sentinel);
	next = atomic_load_explicit(&tail->next, memory_order_acquire);
	if (next != NULL) {
		mb->tail = next;
		return (tail);
	}
	return (NULL);
}

nng_msg *
mailbox_pop(mailbox *mb)
{
	mq_node *n;
	if (mb->nfront > 0) {
		nng_msg *m = mb->front[--mb->nfront];
		atomic_fetch_sub_explicit(&mb->len, 1, memory_order_relaxed);
		return (m);
	}
	if ((n = pop_node(mb)) == NULL) {
		return (NULL);
	}
	atomic_fetch_sub_explicit(&mb->len, 1, memory_order_relaxed);
	return (n->msg);
}

/* Keeps m for the next pop (consumer only; LIFO over kept messages). */
void
mailbox_keep(mailbox *mb, nng_msg *m)
{
	if (mb->nfront == mb->capfront) {
		mb->capfront = mb->capfront ? mb->capfront * 2 : 4;
		mb->front
		    = ar_xrealloc(mb->front, mb->capfront * sizeof(nng_msg *));
	}
	mb->front[mb->nfront++] = m;
	atomic_fetch_add_explicit(&mb->len, 1, memory_order_relaxed);
}

uint32_t
mailbox_len(mailbox *mb)
{
	int v = atomic_load_explicit(&mb->len, memory_order_relaxed);
	return (v < 0 ? 0 : (uint32_t) v);
}

/*
 * alloc.h - allocation wrappers shared by every layer.  Out of memory is not
 * handled call by call: these abort with a message (decided once, for the
 * whole project, as Redis's zmalloc does).  Depends on libc only, so domain
 * code (server/, worker/) can use it without the rest of the runtime.
 */
#ifndef AR_ALLOC_H
#define AR_ALLOC_H

#include <stddef.h>

void *ar_xmalloc(size_t n);
void *ar_xcalloc(size_t n, size_t m);
void *ar_xrealloc(void *p, size_t n);
char *ar_xstrdup(const char *s);            /* NULL copies as "" */
char *ar_xstrndup(const char *s, size_t n); /* exactly n bytes + NUL */

#endif

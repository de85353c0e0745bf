/*
 * plugin.c - loading C plugins with dlopen, one cached handle per name.
 *
 * Design notes (threads): trackers on any thread load and unload plugins
 * at once.  One mutex (`lock`) guards the cache list, each entry's
 * reference count and every dlopen/dlclose/dlsym/dlerror (dlerror's text
 * belongs to the whole sequence); it is never held while plugin code runs
 * (init and fini run outside it, under a reference that keeps the object
 * mapped).  The last unload dlcloses the object, so a rebuilt plugin is
 * picked up once no task uses the old one.  No other lock is taken under
 * `lock`.
 */
#include "worker/plugin.h"

#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "runtime/ar.h"

#define PJ_PLUGIN_NAME_MAX 100

struct entry {
	char                           name[PJ_PLUGIN_NAME_MAX + 1];
	void                          *handle;
	const struct pj_processor_ops *ops;
	int                            refs;
	struct entry                  *next;
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct entry   *cache;

static int
name_ok(const char *name, size_t len, char *err, size_t errlen)
{
	if (len == 0 || len > PJ_PLUGIN_NAME_MAX) {
		snprintf(err, errlen,
		    "plugin name must be 1..%d characters (processor info "
		    "\"NAME[:CONFIG]\")",
		    PJ_PLUGIN_NAME_MAX);
		return 0;
	}
	for (size_t i = 0; i < len; i++) {
		char c = name[i];

		if (c == '/'
		    || (c == '.' && i + 1 < len && name[i + 1] == '.')) {
			snprintf(err, errlen,
			    "plugin name \"%.*s\" refused: it may not contain "
			    "'/' or "
			    "'..' (plugins load only from the plugin "
			    "directory)",
			    (int) len, name);
			return 0;
		}
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
		        || (c >= '0' && c <= '9') || c == '_' || c == '-'
		        || c == '.')) {
			snprintf(err, errlen,
			    "plugin name \"%.*s\" refused: use letters, "
			    "digits, '_', "
			    "'-' and '.'",
			    (int) len, name);
			return 0;
		}
	}
	return 1;
}

/* under lock: the entry of name, opened if needed, with one more ref */
static struct entry *
acquire(const char *dir, const char *name, char *err, size_t errlen)
{
	struct entry                  *e;
	char                           path[4096];
	struct stat                    sb;
	void                          *h;
	const struct pj_processor_ops *ops;

	for (e = cache; e != NULL; e = e->next) {
		if (strcmp(e->name, name) == 0) {
			e->refs++;
			return e;
		}
	}
	if (snprintf(path, sizeof(path), "%s/%s.so", dir, name)
	    >= (int) sizeof(path)) {
		snprintf(err, errlen, "plugin path too long");
		return NULL;
	}
	if (stat(path, &sb) != 0) {
		snprintf(err, errlen,
		    "plugin \"%s\" not found: %s: %s (put NAME.so in the "
		    "plugin "
		    "directory)",
		    name, path, strerror(errno));
		return NULL;
	}
	dlerror();
	if ((h = dlopen(path, RTLD_NOW | RTLD_LOCAL)) == NULL) {
		const char *why = dlerror();

		snprintf(err, errlen, "plugin \"%s\": cannot load %s: %s",
		    name, path, why != NULL ? why : "unknown dlopen error");
		return NULL;
	}
	ops = dlsym(h, PJ_PLUGIN_SYMBOL);
	if (ops == NULL) {
		snprintf(err, errlen,
		    "plugin \"%s\" (%s) does not export the symbol %s; define "
		    "`const struct pj_processor_ops %s` (worker/processor.h)",
		    name, path, PJ_PLUGIN_SYMBOL, PJ_PLUGIN_SYMBOL);
		dlclose(h);
		return NULL;
	}
	if (ops->abi != PJ_PROCESSOR_ABI) {
		snprintf(err, errlen,
		    "plugin \"%s\" (%s) has ABI %u but this worker speaks ABI "
		    "%d; "
		    "rebuild it against this worker's worker/processor.h",
		    name, path, ops->abi, PJ_PROCESSOR_ABI);
		dlclose(h);
		return NULL;
	}
	if (ops->process == NULL) {
		snprintf(err, errlen,
		    "plugin \"%s\" (%s) has no process function (required)",
		    name, path);
		dlclose(h);
		return NULL;
	}
	e = ar_xcalloc(1, sizeof(*e));
	snprintf(e->name, sizeof(e->name), "%s", name);
	e->handle = h;
	e->ops    = ops;
	e->refs   = 1;
	e->next   = cache;
	cache     = e;
	return e;
}

/* under lock: drops one reference of the entry of handle */
static void
release(void *handle)
{
	for (struct entry **pe = &cache; *pe != NULL; pe = &(*pe)->next) {
		struct entry *e = *pe;

		if (e->handle == handle) {
			if (--e->refs == 0) {
				*pe = e->next;
				dlclose(e->handle);
				free(e);
			}
			return;
		}
	}
}

int
pj_plugin_load(const char *plugin_dir, const char *info,
    struct pj_processor *p, char *err, size_t errlen)
{
	const char *colon = strchr(info, ':');
	size_t len = colon != NULL ? (size_t) (colon - info) : strlen(info);
	const char   *config = colon != NULL ? colon + 1 : "";
	char          name[PJ_PLUGIN_NAME_MAX + 1], why[512];
	struct entry *e;
	void         *state = NULL;

	memset(p, 0, sizeof(*p));
	if (plugin_dir == NULL || plugin_dir[0] == '\0') {
		snprintf(err, errlen,
		    "EXTERNAL processor \"%.100s\" refused: this worker has "
		    "no "
		    "plugin directory configured",
		    info);
		return -1;
	}
	if (!name_ok(info, len, err, errlen)) {
		return -1;
	}
	memcpy(name, info, len);
	name[len] = '\0';
	pthread_mutex_lock(&lock);
	e = acquire(plugin_dir, name, err, errlen);
	pthread_mutex_unlock(&lock);
	if (e == NULL) {
		return -1;
	}
	why[0] = '\0';
	if (e->ops->init != NULL
	    && e->ops->init(&state, config, why, sizeof(why)) != 0) {
		why[sizeof(why) - 1] = '\0';
		snprintf(err, errlen,
		    "plugin \"%s\" refused its config \"%.200s\": %s", name,
		    config, why[0] != '\0' ? why : "(no reason given)");
		pthread_mutex_lock(&lock);
		release(e->handle);
		pthread_mutex_unlock(&lock);
		return -1;
	}
	p->ops    = e->ops;
	p->state  = state;
	p->handle = e->handle;
	return 0;
}

void
pj_plugin_unload(struct pj_processor *p)
{
	if (p->handle == NULL) {
		return;
	}
	if (p->ops != NULL && p->ops->fini != NULL) {
		p->ops->fini(p->state);
	}
	pthread_mutex_lock(&lock);
	release(p->handle);
	pthread_mutex_unlock(&lock);
	memset(p, 0, sizeof(*p));
}

int
pj_plugin_loaded(void)
{
	int n = 0;

	pthread_mutex_lock(&lock);
	for (struct entry *e = cache; e != NULL; e = e->next) {
		n++;
	}
	pthread_mutex_unlock(&lock);
	return n;
}

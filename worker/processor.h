/*
 * processor.h - what runs a task: the processor table (PowerJob's
 * BasicProcessor / BroadcastProcessor / MapProcessor / MapReduceProcessor,
 * powerjob-design.md §7) and the task context the worker hands it.
 *
 * This header is also the plugin ABI: a C plugin (a shared object in the
 * worker's plugin directory, loaded with dlopen) includes only this file
 * and exports
 *
 *     const struct pj_processor_ops pj_processor_v1;
 *
 * whose `abi` is PJ_PROCESSOR_ABI.  A plugin never links against the
 * worker: everything it may call is a function pointer in the context.
 * The ABI number changes whenever a member is added, removed or moved;
 * the worker refuses a table whose `abi` it does not know.
 *
 * Threads: `process`, `pre_process`, `post_process` and `reduce` run on a
 * ProcessorTracker's (or light TaskTracker's) pool thread; several tasks
 * of one processor may run at once (job concurrency), so the processor's
 * state must be safe to share or guarded by the processor.  `init` and
 * `fini` run once per loaded processor, on the loading thread.
 */
#ifndef PJ_WORKER_PROCESSOR_H
#define PJ_WORKER_PROCESSOR_H

#include <stddef.h>
#include <stdint.h>

#define PJ_PROCESSOR_ABI 1

/* Log levels (PowerJob's LogLevel codes). */
enum pj_log_level {
	PJ_LOG_DEBUG = 1,
	PJ_LOG_INFO  = 2,
	PJ_LOG_WARN  = 3,
	PJ_LOG_ERROR = 4,
	PJ_LOG_OFF   = 99,
};

/* Task names of the trackers (PowerJob's TaskConstant). */
#define PJ_TASK_ROOT "OMS_ROOT_TASK"
#define PJ_TASK_BROADCAST "OMS_BROADCAST_TASK"
#define PJ_TASK_LAST "OMS_LAST_TASK"

/* One sub-task handed to ctx->map: an opaque blob (PowerJob serialises a
 * Java object with Kryo; here the processor chooses its own bytes). */
struct pj_subtask {
	const void *content;
	size_t      len;
};

/* One finished task, handed to reduce / post_process. */
struct pj_task_outcome {
	const char *task_id;
	int         success; /* 1 succeeded, 0 failed */
	const char *result;
};

typedef struct pj_task_ctx pj_task_ctx;

/* The context of one task run.  Every pointer stays valid until the
 * processor's call returns; copy what must outlive it. */
struct pj_task_ctx {
	uint32_t abi; /* PJ_PROCESSOR_ABI */
	int64_t  job_id;
	int64_t  instance_id;
	int64_t  sub_instance_id; /* = instance_id except frequent jobs */
	int64_t  wf_instance_id;
	const char *task_id;   /* "0", "0.3.17"; light tasks "<job>#<inst>" */
	const char *task_name; /* PJ_TASK_ROOT, a name given to map, ... */
	const char *job_params;
	const char *instance_params;
	const char *processor_info;
	const char *execute_type; /* "STANDALONE", "BROADCAST", "MAP", ... */
	int32_t     max_retry_times;     /* task_retry_num */
	int32_t     current_retry_times; /* failures so far */
	const void *sub_task;            /* content given to map; NULL at root */
	size_t      sub_task_len;
	int64_t     deadline_ms; /* monotonic ms (ar_mono_ms); 0 = none */
	const char *workspace;   /* a directory for this instance's files */

	/* The worker's services; never NULL. */

	/* Online log line at a level (printf format); filtered by the job's
	 * log config. */
	void (*log)(pj_task_ctx *ctx, int level, const char *fmt, ...)
	    __attribute__((format(printf, 3, 4)));
	/* Map: store n sub-tasks named task_name under this task (MAP and
	 * MAP_REDUCE only).  Returns 0 once they are persisted, -1 when
	 * refused (the reason is set as the task's result). */
	int (*map)(pj_task_ctx *ctx, const char *task_name,
	    const struct pj_subtask *subs, size_t n);
	/* 1 once the instance was stopped or timed out: a long processor
	 * polls it and returns early. */
	int (*stopping)(pj_task_ctx *ctx);
	/* The task's result text (printf format); the last call wins; the
	 * worker truncates it to its max result length. */
	void (*set_result)(pj_task_ctx *ctx, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));

	void *worker_data; /* the worker's own; processors leave it alone */
};

/* The processor table.  Return values of the task calls: 1 success,
 * 0 failure (the result text says why). */
struct pj_processor_ops {
	uint32_t    abi;  /* PJ_PROCESSOR_ABI */
	const char *name; /* for logs */
	/* Optional: called once when loaded; `config` is the processor info
	 * after the plugin name ("" when none).  Nonzero refuses the load; a
	 * message may be written into err. */
	int (*init)(void **state, const char *config, char *err, size_t errlen);
	/* Optional: called once when unloaded. */
	void (*fini)(void *state);
	/* Required: one task (STANDALONE, every map sub-task, every
	 * broadcast node). */
	int (*process)(void *state, pj_task_ctx *ctx);
	/* Optional (BROADCAST): once on the TaskTracker's node before the
	 * fan-out; NULL = success. */
	int (*pre_process)(void *state, pj_task_ctx *ctx);
	/* Optional (BROADCAST): once after every node finished; NULL =
	 * success iff no task failed, result "succeed:%d, failed:%d". */
	int (*post_process)(void *state, pj_task_ctx *ctx,
	    const struct pj_task_outcome *r, size_t n);
	/* Required for MAP_REDUCE: once over every task's result. */
	int (*reduce)(void *state, pj_task_ctx *ctx,
	    const struct pj_task_outcome *r, size_t n);
};

/* ---- the worker's processor registry (not part of the plugin ABI) ---- */

#ifndef PJ_PROCESSOR_PLUGIN_ONLY

/* A loaded processor: its table and the state init made. */
struct pj_processor {
	const struct pj_processor_ops *ops;
	void                          *state;
	void                          *handle; /* dlopen handle or NULL */
};

/* Where processors come from (pj-worker's options). */
struct pj_processor_config {
	const char *plugin_dir;  /* EXTERNAL plugins; NULL = none allowed */
	const char *data_dir;    /* script files, downloads */
	const char *ca_file;     /* extra trusted CA for https downloads */
	int64_t     max_download_bytes;
	int64_t     download_timeout_ms;
	int64_t     max_output_bytes; /* script stdout+stderr kept in result */
	/* added by the script processors (docs/processors.md) */
	int64_t     kill_grace_ms; /* TERM -> KILL of a script's group */
	const char *python_path;   /* interpreter of PYTHON scripts */
};
void pj_processor_config_init(struct pj_processor_config *c);

/* Loads the processor of (processor_type, processor_info) as
 * ServerScheduleJobReq names them: processor_type "BUILT_IN" with a
 * built-in name ("shell", "python", "http", "verify", or PowerJob's
 * official class names), "SHELL" / "PYTHON" (the script in
 * processor_info), or "EXTERNAL" (processor_info = "PLUGIN[:CONFIG]", a
 * plugin file in plugin_dir).  0, or -1 with a clear reason in err
 * (unknown type, missing plugin, missing symbol, wrong ABI, init
 * refused). */
int pj_processor_load(const struct pj_processor_config *c,
    const char *processor_type, const char *processor_info,
    struct pj_processor *p, char *err, size_t errlen);
void pj_processor_unload(struct pj_processor *p);

#endif /* PJ_PROCESSOR_PLUGIN_ONLY */

#endif

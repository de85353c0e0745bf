# PowerJob-style distributed job scheduler in C on a small Akka-like actor
# runtime.  One non-recursive Makefile; everything is built into $(BUILD).
#
#   make            build libraries, programs, tests and benchmarks
#   make check      run every test suite (starts and stops MariaDB)
#   make check SANITIZE=1   the same under ASan + UBSan (into build/san)
#   make check SANITIZE=thread   the same under ThreadSanitizer (build/tsan)
#   make bench      run the benchmarks and print their tables
#   make demo       run the system on its embedded defaults
#   make fuzz       build the libFuzzer targets with clang and run them briefly
#   make deps       install missing Debian packages (check/demo/bench do it)
#   make format     clang-format every C file
#   make clean

BUILD    ?= build
SANITIZE ?= 0
ifeq ($(SANITIZE),1)
BUILD    := build/san
SANFLAGS := -fsanitize=address,undefined -fno-omit-frame-pointer \
            -fno-sanitize-recover=undefined
endif
# SANITIZE=thread: ThreadSanitizer, into its own folder (t/run.sh sets
# TSAN_OPTIONS with halt_on_error=1 and t/tsan.supp)
ifeq ($(SANITIZE),thread)
BUILD    := build/tsan
SANFLAGS := -fsanitize=thread -fno-omit-frame-pointer
endif
# FUZZ=1: the libraries built with clang and coverage for libFuzzer targets
FUZZ ?= 0
ifeq ($(FUZZ),1)
BUILD    := build/fuzz
CC       := clang
SANFLAGS := -fsanitize=fuzzer-no-link,address,undefined -fno-omit-frame-pointer
endif

CC       ?= cc
CXX      ?= g++
PKGS     := libprotobuf-c mysqlclient sqlite3 libcrypto jansson libcurl \
            libmongoc-1.0
PKG_CFLAGS = $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   = $(shell pkg-config --libs $(PKGS) 2>/dev/null)
CHECK_LIBS = $(shell pkg-config --libs check 2>/dev/null)
CPPFLAGS := -I. -I$(BUILD)/gen -D_GNU_SOURCE
CFLAGS   := -std=c11 -Wall -Wextra -Werror -O2 -g $(SANFLAGS)
LDLIBS    = $(PKG_LIBS) -lnng -pthread -lm -ldl
DEPFLAGS := -MMD -MP

# A build without the Debian packages says what to do instead of failing on
# a missing tool (check, demo and bench install them first themselves).
NEEDS_DEPS := $(filter-out deps check demo bench fuzz clean format, \
                $(or $(MAKECMDGOALS),all))
ifneq ($(NEEDS_DEPS),)
ifeq ($(shell command -v protoc-c 2>/dev/null),)
$(error protoc-c is missing: run `make deps` first (it installs the Debian \
packages listed in scripts/deps.sh); `make check` and `make demo` do it \
themselves)
endif
endif

# ---- sources ---------------------------------------------------------------
PROTOS      := $(wildcard proto/*.proto)
PROTO_C     := $(PROTOS:%.proto=$(BUILD)/gen/%.pb-c.c)
PROTO_H     := $(PROTOS:%.proto=$(BUILD)/gen/%.pb-c.h)
RUNTIME_SRC := $(wildcard runtime/*.c)
ACTORS_SRC  := $(wildcard actors/*.c)
SERVER_SRC  := $(wildcard server/*.c server/*/*.c)
WORKER_SRC  := $(filter-out worker/plugins/%.c,$(wildcard worker/*.c worker/*/*.c))
PROG_SRC    := $(filter-out programs/pjctl_%.c,$(wildcard programs/*.c))
# pjctl's other files (programs/pjctl_*.c) are linked into it
PJCTL_SRC   := $(wildcard programs/pjctl_*.c)
TEST_SRC    := $(wildcard t/*_test.c)
TPROG_SRC   := $(wildcard t/progs/*.c)
BENCH_SRC   := $(wildcard bench/*.c)
BENCH_CXX   := $(wildcard bench/*.cpp)
FUZZ_SRC    := $(wildcard t/fuzz/*_fuzz.c)
# SQL migrations, embedded into libpjserver (scripts/embed_migrations.sh)
MIGRATIONS   := $(sort $(wildcard migrations/*/[0-9][0-9][0-9][0-9]_*.sql))
MIGRATIONS_C := $(if $(SERVER_SRC),$(BUILD)/gen/migrations.c)

obj = $(patsubst %.c,$(BUILD)/obj/%.o,$(1))

LIB_PROTO   := $(BUILD)/lib/libpjproto.a
LIB_RUNTIME := $(BUILD)/lib/libar.a
LIB_ACTORS  := $(BUILD)/lib/libpjactors.a
LIB_SERVER  := $(BUILD)/lib/libpjserver.a
LIB_WORKER  := $(BUILD)/lib/libpjworker.a
# Link order: higher floors first (programs -> actors -> server/worker ->
# runtime -> generated protobuf code).
LIBS := $(if $(ACTORS_SRC),$(LIB_ACTORS)) $(if $(SERVER_SRC),$(LIB_SERVER)) \
        $(if $(WORKER_SRC),$(LIB_WORKER)) $(if $(RUNTIME_SRC),$(LIB_RUNTIME)) \
        $(if $(PROTOS),$(LIB_PROTO))

PROGRAMS := $(PROG_SRC:programs/%.c=$(BUILD)/bin/%)
TESTS    := $(TEST_SRC:t/%.c=$(BUILD)/t/%)
TPROGS   := $(TPROG_SRC:t/progs/%.c=$(BUILD)/t/%)
BENCHES  := $(BENCH_SRC:bench/%.c=$(BUILD)/bench/%) \
            $(BENCH_CXX:bench/%.cpp=$(BUILD)/bench/%)

.PHONY: all libs deps check bench demo fuzz format clean FORCE
all: $(LIBS) $(PROGRAMS) $(TESTS) $(TPROGS) $(BENCHES)
libs: $(LIBS)

deps:
	@scripts/deps.sh

check: deps
	@$(MAKE) --no-print-directory all
	@t/run.sh $(BUILD)

bench: deps
	@$(MAKE) --no-print-directory all
	@bench/run.sh $(BUILD)

demo: deps
	@$(MAKE) --no-print-directory all
	@scripts/demo.sh $(BUILD)

fuzz: deps
	@scripts/fuzz.sh

format:
	clang-format -i $$(git ls-files '*.c' '*.h' '*.cpp')

clean:
	rm -rf build

# ---- generated protobuf-c code ---------------------------------------------
$(BUILD)/gen/%.pb-c.c $(BUILD)/gen/%.pb-c.h: %.proto
	@mkdir -p $(BUILD)/gen
	@echo '  PROTO  $<'
	@protoc-c --proto_path=. --c_out=$(BUILD)/gen $<

# the list of migration files, rewritten only when it changes, so that a
# removed or renamed migration also regenerates migrations.c
$(BUILD)/gen/migrations.list: FORCE
	@mkdir -p $(BUILD)/gen
	@echo '$(MIGRATIONS)' | cmp -s - $@ || echo '$(MIGRATIONS)' >$@

$(BUILD)/gen/migrations.c: $(MIGRATIONS) $(BUILD)/gen/migrations.list \
                          scripts/embed_migrations.sh
	@mkdir -p $(BUILD)/gen
	scripts/embed_migrations.sh $(MIGRATIONS) >$@.tmp && mv $@.tmp $@

# Every object waits for every generated header (order-only).
$(BUILD)/obj/%.o: %.c | $(PROTO_H)
	@mkdir -p $(dir $@)
	@echo '  CC     $<'
	@$(CC) $(CPPFLAGS) $(PKG_CFLAGS) $(CFLAGS) $(DEPFLAGS) -c $< -o $@

# generated code is not ours to warn about beyond the defaults
$(BUILD)/obj/$(BUILD)/gen/%.o: $(BUILD)/gen/%.c | $(PROTO_H)
	@mkdir -p $(dir $@)
	@$(CC) $(CPPFLAGS) $(PKG_CFLAGS) -std=c11 -O2 -g $(SANFLAGS) -c $< -o $@

$(LIB_PROTO):   $(call obj,$(PROTO_C))
$(LIB_RUNTIME): $(call obj,$(RUNTIME_SRC))
$(LIB_ACTORS):  $(call obj,$(ACTORS_SRC))
$(LIB_SERVER):  $(call obj,$(SERVER_SRC)) $(call obj,$(MIGRATIONS_C))
$(LIB_WORKER):  $(call obj,$(WORKER_SRC))
$(BUILD)/lib/%.a:
	@mkdir -p $(dir $@)
	@rm -f $@ && ar rcs $@ $^

$(BUILD)/bin/%: $(BUILD)/obj/programs/%.o $(LIBS)
	@mkdir -p $(dir $@)
	@echo '  LD     $@'
	@$(CC) $(CFLAGS) -o $@ $< $(LIBS) $(LDLIBS)

$(BUILD)/bin/pjctl: $(BUILD)/obj/programs/pjctl.o $(call obj,$(PJCTL_SRC)) \
                   $(LIBS)
	@mkdir -p $(dir $@)
	@echo '  LD     $@'
	@$(CC) $(CFLAGS) -o $@ $(filter %.o,$^) $(LIBS) $(LDLIBS)

$(BUILD)/t/%_test: $(BUILD)/obj/t/%_test.o $(LIBS)
	@mkdir -p $(dir $@)
	@echo '  LD     $@'
	@$(CC) $(CFLAGS) -o $@ $< $(LIBS) $(CHECK_LIBS) $(LDLIBS)

$(BUILD)/t/%: $(BUILD)/obj/t/progs/%.o $(LIBS)
	@mkdir -p $(dir $@)
	@echo '  LD     $@'
	@$(CC) $(CFLAGS) -o $@ $< $(LIBS) $(LDLIBS)

$(BUILD)/bench/%: $(BUILD)/obj/bench/%.o $(LIBS)
	@mkdir -p $(dir $@)
	@echo '  LD     $@'
	@$(CC) $(CFLAGS) -o $@ $< $(LIBS) $(LDLIBS)

# CAF peers for the runtime benchmarks (C++17, never sanitized)
$(BUILD)/bench/%: bench/%.cpp
	@mkdir -p $(dir $@)
	@echo '  CXX    $<'
	@$(CXX) -O2 -std=c++17 -o $@ $< -lcaf_core -pthread

.SECONDARY:
-include $(shell find $(BUILD)/obj -name '*.d' 2>/dev/null)

# ---- processor plugins -----------------------------------------------------
# EXTERNAL processors are shared objects loaded with dlopen (worker/plugin.c,
# docs/processors.md): the example plugins of worker/plugins/ go to
# $(BUILD)/plugins/NAME.so (the demo's and the tests' plugin directory), the
# deliberately broken ones of t/plugins/ to $(BUILD)/t/plugins/NAME.so.  They
# include only worker/processor.h (PJ_PROCESSOR_PLUGIN_ONLY), link nothing
# from the worker and are built without sanitizer flags (loading them into
# an ASan or TSan worker is fine).
PLUGIN_SRC    := $(wildcard worker/plugins/*.c)
TPLUGIN_SRC   := $(wildcard t/plugins/*.c)
PLUGINS       := $(PLUGIN_SRC:worker/plugins/%.c=$(BUILD)/plugins/%.so)
TPLUGINS      := $(TPLUGIN_SRC:t/plugins/%.c=$(BUILD)/t/plugins/%.so)
PLUGIN_CFLAGS := -std=c11 -Wall -Wextra -Werror -O2 -g -fPIC -shared \
                 -DPJ_PROCESSOR_PLUGIN_ONLY -I.

all: $(PLUGINS) $(TPLUGINS)
plugins: $(PLUGINS) $(TPLUGINS)
.PHONY: plugins

$(BUILD)/plugins/%.so: worker/plugins/%.c worker/processor.h
	@mkdir -p $(dir $@)
	@echo '  PLUGIN $@'
	@$(CC) $(PLUGIN_CFLAGS) -o $@ $<

$(BUILD)/t/plugins/%.so: t/plugins/%.c worker/processor.h
	@mkdir -p $(dir $@)
	@echo '  PLUGIN $@'
	@$(CC) $(PLUGIN_CFLAGS) -o $@ $<

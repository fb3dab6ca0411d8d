// SPDX-License-Identifier: GPL-2.0
/*
 * insn-profile: a QEMU TCG plugin that counts the guest instructions each
 * translation block runs between two marks, for scripts/bench-profile.
 *
 * TCG gives a guest no PMU, and under -icount guest time is instruction
 * count, so a count per block is the profile that matches the benchmark's
 * figures.  The window opens when the guest first runs the block at
 * start=ADDR and closes at the first run of stop=ADDR after it (the two
 * marker functions of the static benchmark, whose addresses are fixed).
 * At exit, out=FILE gets one line per block that ran in the window:
 * "vaddr instructions-per-run runs".
 *
 * Only the calls of QEMU 7.2's plugin API (version 1) it uses are declared
 * here.  One vCPU: the inline counters are not atomic.
 */
#include <inttypes.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef uint64_t qemu_plugin_id_t;
typedef struct qemu_info_t qemu_info_t;
struct qemu_plugin_tb;

enum qemu_plugin_cb_flags { QEMU_PLUGIN_CB_NO_REGS };
enum qemu_plugin_op { QEMU_PLUGIN_INLINE_ADD_U64 };

typedef void (*tb_trans_cb)(qemu_plugin_id_t id, struct qemu_plugin_tb *tb);
typedef void (*vcpu_udata_cb)(unsigned int vcpu, void *udata);
typedef void (*udata_cb)(qemu_plugin_id_t id, void *udata);

void qemu_plugin_register_vcpu_tb_trans_cb(qemu_plugin_id_t id, tb_trans_cb cb);
void qemu_plugin_register_vcpu_tb_exec_cb(struct qemu_plugin_tb *tb,
					  vcpu_udata_cb cb,
					  enum qemu_plugin_cb_flags flags,
					  void *udata);
void qemu_plugin_register_vcpu_tb_exec_inline(struct qemu_plugin_tb *tb,
					      enum qemu_plugin_op op,
					      void *ptr, uint64_t imm);
void qemu_plugin_register_atexit_cb(qemu_plugin_id_t id, udata_cb cb,
				    void *udata);
size_t qemu_plugin_tb_n_insns(const struct qemu_plugin_tb *tb);
uint64_t qemu_plugin_tb_vaddr(const struct qemu_plugin_tb *tb);

__attribute__((visibility("default"))) int qemu_plugin_version = 1;

struct block {
	uint64_t vaddr;
	uint64_t insns;
	uint64_t runs;		/* bumped inline by the translated code */
	uint64_t runs_at_start;
	uint64_t runs_at_stop;
	struct block *next;
};

enum window { BEFORE, OPEN, CLOSED };

static struct block *blocks;
static pthread_mutex_t blocks_lock = PTHREAD_MUTEX_INITIALIZER;
static uint64_t start_addr, stop_addr;
static enum window window = BEFORE;
static const char *out_path;

/* Snapshot every block's count: the window is the difference of two. */
static void snapshot(bool at_start)
{
	struct block *b;

	pthread_mutex_lock(&blocks_lock);
	for (b = blocks; b; b = b->next) {
		if (at_start)
			b->runs_at_start = b->runs;
		else
			b->runs_at_stop = b->runs;
	}
	pthread_mutex_unlock(&blocks_lock);
}

static void on_start(unsigned int vcpu, void *udata)
{
	if (window == BEFORE) {
		snapshot(true);
		window = OPEN;
	}
}

static void on_stop(unsigned int vcpu, void *udata)
{
	if (window == OPEN) {
		snapshot(false);
		window = CLOSED;
	}
}

static void on_translate(qemu_plugin_id_t id, struct qemu_plugin_tb *tb)
{
	struct block *b = calloc(1, sizeof(*b));

	if (!b)
		abort();
	b->vaddr = qemu_plugin_tb_vaddr(tb);
	b->insns = qemu_plugin_tb_n_insns(tb);
	/* A block first seen inside the window started there from zero. */
	pthread_mutex_lock(&blocks_lock);
	b->next = blocks;
	blocks = b;
	pthread_mutex_unlock(&blocks_lock);
	qemu_plugin_register_vcpu_tb_exec_inline(tb, QEMU_PLUGIN_INLINE_ADD_U64,
						 &b->runs, 1);
	if (b->vaddr == start_addr)
		qemu_plugin_register_vcpu_tb_exec_cb(tb, on_start,
						     QEMU_PLUGIN_CB_NO_REGS, NULL);
	if (b->vaddr == stop_addr)
		qemu_plugin_register_vcpu_tb_exec_cb(tb, on_stop,
						     QEMU_PLUGIN_CB_NO_REGS, NULL);
}

static void dump_at_exit(qemu_plugin_id_t id, void *udata)
{
	FILE *f = fopen(out_path, "w");
	struct block *b;

	if (!f)
		return;
	if (window != CLOSED)
		fprintf(f, "# window %s\n", window == OPEN ? "never closed" :
			"never opened");
	for (b = blocks; b; b = b->next) {
		uint64_t end = window == CLOSED ? b->runs_at_stop : b->runs;
		uint64_t runs = end - b->runs_at_start;

		if (runs)
			fprintf(f, "%016" PRIx64 " %" PRIu64 " %" PRIu64 "\n",
				b->vaddr, b->insns, runs);
	}
	fclose(f);
}

__attribute__((visibility("default")))
int qemu_plugin_install(qemu_plugin_id_t id, const qemu_info_t *info,
			int argc, char **argv)
{
	int i;

	for (i = 0; i < argc; i++) {
		if (!strncmp(argv[i], "start=", 6))
			start_addr = strtoull(argv[i] + 6, NULL, 0);
		else if (!strncmp(argv[i], "stop=", 5))
			stop_addr = strtoull(argv[i] + 5, NULL, 0);
		else if (!strncmp(argv[i], "out=", 4))
			out_path = argv[i] + 4;
		else
			return -1;
	}
	if (!start_addr || !stop_addr || !out_path)
		return -1;
	qemu_plugin_register_vcpu_tb_trans_cb(id, on_translate);
	qemu_plugin_register_atexit_cb(id, dump_at_exit, NULL);
	return 0;
}

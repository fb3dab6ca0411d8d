// SPDX-License-Identifier: GPL-2.0
/*
 * tsc-khz: print the host's TSC rate in kHz, measured against
 * CLOCK_MONOTONIC_RAW.  Under TCG the guest's TSC is the host's, and a
 * guest without ACPI has no timer to calibrate it against: scripts/boot
 * passes this as tsc_early_khz=, which the guest takes as exact.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <x86intrin.h>

#define NR_SAMPLES	5
#define SAMPLE_NS	50000000LL
/* A clock read that took longer than this was preempted: read again. */
#define MAX_BRACKET	20000

struct stamp {
	uint64_t tsc;
	int64_t ns;
};

/* A clock read and the TSC at its midpoint, read on both sides of it. */
static int stamp(struct stamp *s)
{
	struct timespec ts;
	int tries;

	for (tries = 0; tries < 100; tries++) {
		uint64_t before, after;

		before = __rdtsc();
		if (clock_gettime(CLOCK_MONOTONIC_RAW, &ts))
			return -1;
		after = __rdtsc();
		if (after - before > MAX_BRACKET)
			continue;
		s->tsc = before + (after - before) / 2;
		s->ns = ts.tv_sec * 1000000000LL + ts.tv_nsec;
		return 0;
	}
	return -1;
}

static int sample_khz(uint64_t *khz)
{
	struct timespec nap = { 0, SAMPLE_NS };
	struct stamp a, b;

	if (stamp(&a) || nanosleep(&nap, NULL) || stamp(&b))
		return -1;
	*khz = (uint64_t)((double)(b.tsc - a.tsc) * 1000000.0 / (b.ns - a.ns));
	return 0;
}

static int cmp(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return (x > y) - (x < y);
}

int main(void)
{
	uint64_t khz[NR_SAMPLES], median;
	int i;

	for (i = 0; i < NR_SAMPLES; i++) {
		if (sample_khz(&khz[i])) {
			perror("tsc-khz: clock");
			return 1;
		}
	}
	qsort(khz, NR_SAMPLES, sizeof(khz[0]), cmp);
	median = khz[NR_SAMPLES / 2];
	/* The middle three agree to 0.1%, or the host is too busy to tell. */
	if ((khz[NR_SAMPLES - 2] - khz[1]) * 1000 > median) {
		fprintf(stderr, "tsc-khz: samples disagree: %llu .. %llu kHz\n",
			(unsigned long long)khz[1],
			(unsigned long long)khz[NR_SAMPLES - 2]);
		return 1;
	}
	printf("%llu\n", (unsigned long long)median);
	return 0;
}

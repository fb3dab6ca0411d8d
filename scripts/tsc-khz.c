// SPDX-License-Identifier: GPL-2.0
/*
 * tsc-khz: print the host's TSC rate in kHz, measured against
 * CLOCK_MONOTONIC_RAW.  Under TCG the guest's TSC is the host's, and a
 * guest without ACPI has no timer to calibrate it against: scripts/boot
 * passes this as tsc_early_khz=.
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <x86intrin.h>

static long long now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC_RAW, &ts);
	return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* One sample over 50 ms; the TSC is read between two clock reads. */
static long long sample_khz(void)
{
	long long t0 = now_ns(), c0 = __rdtsc(), t1;
	struct timespec nap = { 0, 50 * 1000 * 1000 };

	nanosleep(&nap, NULL);
	t1 = now_ns();
	return (long long)((__rdtsc() - c0) * 1000000.0 / (t1 - t0));
}

static int cmp(const void *a, const void *b)
{
	long long x = *(const long long *)a, y = *(const long long *)b;

	return (x > y) - (x < y);
}

int main(void)
{
	long long khz[5];
	int i;

	for (i = 0; i < 5; i++)
		khz[i] = sample_khz();
	qsort(khz, 5, sizeof(khz[0]), cmp);
	printf("%lld\n", khz[2]);
	return 0;
}

// SPDX-License-Identifier: GPL-2.0
/*
 * Cycle soaker for bench/datapath.py: fills the CPU's idle time with a
 * loop of a known number of instructions, the way netperf's looper
 * measures CPU use.
 *
 * Under -icount shift=0,sleep=off the guest clock counts instructions
 * only while the vCPU runs; once it halts, the clock jumps from timer to
 * timer and the timer interrupts taken while waiting for the host count
 * as busy time. With this loop runnable at SCHED_IDLE the vCPU never
 * halts during a round: every instruction not spent in the loop is the
 * datapath's (or the benchmark's own, the same in every round), and the
 * loop's share is exactly SOAK_INSNS times its count.
 *
 *   soak FILE
 *
 * FILE is a 4 KiB file mapped shared: a u64 iteration count at offset 0,
 * a u32 "run" word at offset 8. A byte on stdin starts the loop, which
 * runs until "run" is 0 and then waits for the next byte; EOF ends it.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/mman.h>
#include <unistd.h>

#define SOAK_INSNS	3	/* incq, cmpl, jne: keep datapath.py in step */

static void spin(volatile uint64_t *count, volatile uint32_t *run)
{
	asm volatile("1:\n\t"
		     "incq (%0)\n\t"
		     "cmpl $0, (%1)\n\t"
		     "jne 1b\n\t"
		     : : "r" (count), "r" (run) : "memory", "cc");
}

int main(int argc, char **argv)
{
	struct sched_param sp = { 0 };
	char c;
	void *m;
	int fd;

	if (argc != 2) {
		fprintf(stderr, "usage: soak FILE\n");
		return 2;
	}
	fd = open(argv[1], O_RDWR);
	if (fd < 0) {
		perror(argv[1]);
		return 1;
	}
	m = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (m == MAP_FAILED) {
		perror("mmap");
		return 1;
	}
	if (sched_setscheduler(0, SCHED_IDLE, &sp)) {
		perror("SCHED_IDLE");
		return 1;
	}
	while (read(0, &c, 1) == 1)
		spin(m, (uint32_t *)((char *)m + 8));
	return 0;
}

/* usdt_target: one USDT probe, tsbpf:args, for test/kernel/usdt.test.ts. Built with gcc
 * -O0, its note's argument spec is `-4@$-42 -4@%eax -8@-8(%rbp)`: a constant, a register
 * and a stack slot. The probe has a semaphore (in .probes) and fires only while it is
 * set, which the kernel does while a uprobe with its ref_ctr_offset is attached.
 * Usage: usdt_target N BASE  -> prints "semaphore S", fires tsbpf:args(-42, (N + 7) * 2,
 * BASE * 3) when S != 0. */
#define _SDT_HAS_SEMAPHORES 1
#include <sys/sdt.h>
#include <stdio.h>
#include <stdlib.h>

unsigned short tsbpf_args_semaphore __attribute__((unused)) __attribute__((section(".probes")));

static long __attribute__((noinline)) fire(int n, long base)
{
	long on_stack = base * 3;   /* -O0: a local in memory */
	int in_reg = n + 7;
	if (tsbpf_args_semaphore)
		DTRACE_PROBE3(tsbpf, args, -42, in_reg * 2, on_stack); /* in_reg * 2: computed in %eax */
	return on_stack;
}

int main(int argc, char **argv)
{
	int n = argc > 1 ? atoi(argv[1]) : 1;
	long base = argc > 2 ? atol(argv[2]) : 1000;
	printf("semaphore %u\n", tsbpf_args_semaphore);
	fire(n, base);
	return 0;
}

/*
 * getppid-loop: the Linux null system call, ITERATIONS times (l4gdb bench's
 * linux_getppid_us), then "getppid-loop: done" and exit status 0.
 */
#include "linux_syscall.h"

#ifndef ITERATIONS
#define ITERATIONS 2000
#endif

static const char done[] = "getppid-loop: done\n";

void _start(void)
{
    for (int i = 0; i < ITERATIONS; i++)
        linux_syscall3(NR_getppid, 0, 0, 0);
    linux_syscall3(NR_write, 1, (long)done, sizeof done - 1);
    linux_syscall3(NR_exit_group, 0, 0, 0);
    for (;;) {
    }
}

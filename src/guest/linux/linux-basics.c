/*
 * linux-basics: the first system calls a Linux port must get right, with only
 * calls every arch's table has (the generic one of RISC-V included).  Prints
 * one line per check and exits with status 3 (no libc: _start is the entry):
 *
 *   cwd=/                        getcwd
 *   file=<first line of /etc/basics.txt>   openat + read + close
 *   missing=-2                   openat of a missing file: -ENOENT
 *   efault=-14                   write from an unmapped address: -EFAULT
 *   mmap=ok                      anonymous mmap, written and read back
 *   [RISC-V] low-numbers=-38     Linux calls 1..13 (not L4's) reach Wombat: ENOSYS
 *   [RISC-V] tp=kept             tp, set by the program, survives system calls
 */
#include "linux_io.h"

#define AT_FDCWD -100
#define O_RDONLY 0
#define PROT_READ 1
#define PROT_WRITE 2
#define MAP_PRIVATE 2
#define MAP_ANONYMOUS 0x20
#define PAGE 4096

static void put_line(const char *key, long v)
{
    put(key);
    put_num(v);
    put("\n");
}

static void check_cwd(void)
{
    char buf[64];
    long n = linux_syscall3(NR_getcwd, (long)buf, sizeof buf, 0);
    put("cwd=");
    if (n > 0)
        put(buf);             /* getcwd stores the NUL */
    else
        put_num(n);
    put("\n");
}

static void check_file(void)
{
    char buf[64];
    long fd = linux_syscall3(NR_openat, AT_FDCWD, (long)"/etc/basics.txt", O_RDONLY);
    long n = fd >= 0 ? linux_syscall3(NR_read, fd, (long)buf, sizeof buf - 1) : fd;
    if (fd >= 0)
        linux_syscall3(NR_close, fd, 0, 0);
    put("file=");
    if (n < 0) {
        put_num(n);
        n = 0;
    }
    for (long i = 0; i < n; i++)
        if (buf[i] == '\n')
            n = i;
    put_n(buf, (unsigned long)n);
    put("\n");
    put_line("missing=", linux_syscall3(NR_openat, AT_FDCWD, (long)"/etc/nothing", O_RDONLY));
    put_line("efault=", linux_syscall3(NR_write, 1, 16, 4));
}

static void check_mmap(void)
{
    long addr = linux_mmap(0, 2 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1);
    if (addr < 0 && addr > -4096) {
        put_line("mmap=", addr);
        return;
    }
    volatile long *p = (volatile long *)addr;
    int ok = p[0] == 0 && p[PAGE / sizeof(long)] == 0;   /* fresh pages are zero */
    p[0] = 0x5a5a;
    p[PAGE / sizeof(long) + 1] = addr;
    ok = ok && p[0] == 0x5a5a && p[PAGE / sizeof(long) + 1] == addr;
    put(ok ? "mmap=ok\n" : "mmap=bad\n");
}

#if defined(__riscv)
static void check_riscv(void)
{
    /* 1..13 are L4's numbers too; untagged they are Linux's (io_destroy..flistxattr),
     * which Wombat does not implement: every one must come back ENOSYS. */
    long worst = -38;
    for (long nr = 1; nr <= 13; nr++) {
        long r = linux_syscall3(nr, 0, 0, 0);
        if (r != -38)
            worst = r;
    }
    put_line("low-numbers=", worst);
    /* TLS: Linux programs set tp themselves; the kernel must give it back. */
    long mine = 0x12345670, now;
    char buf[16];
    __asm__ volatile("mv tp, %0" : : "r"(mine));
    linux_syscall3(NR_getppid, 0, 0, 0);
    linux_syscall3(NR_getcwd, (long)buf, sizeof buf, 0);  /* writes user memory */
    __asm__ volatile("mv %0, tp" : "=r"(now));
    put(now == mine ? "tp=kept\n" : "tp=lost\n");
}
#endif

void _start(void)
{
    check_cwd();
    check_file();
    check_mmap();
#if defined(__riscv)
    check_riscv();
#endif
    linux_syscall3(NR_exit_group, 3, 0, 0);
    for (;;) {
    }
}

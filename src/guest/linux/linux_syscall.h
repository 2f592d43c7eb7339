/*
 * Raw Linux system calls for small freestanding test and benchmark programs
 * (static, no libc): ARM EABI (svc 0, r7), i386 (int $0x80, eax), MIPS o32
 * (syscall, v0; a3 = error flag).  Results are -errno on failure.
 */
#ifndef LINUX_SYSCALL_H
#define LINUX_SYSCALL_H

#if defined(__arm__)
#define NR_exit_group 248
#define NR_write 4
#define NR_getppid 64
static inline long linux_syscall3(long n, long a, long b, long c)
{
    register long r7 __asm__("r7") = n;
    register long r0 __asm__("r0") = a;
    register long r1 __asm__("r1") = b;
    register long r2 __asm__("r2") = c;
    __asm__ volatile("svc #0" : "+r"(r0) : "r"(r7), "r"(r1), "r"(r2) : "memory");
    return r0;
}
#elif defined(__i386__)
#define NR_exit_group 252
#define NR_write 4
#define NR_getppid 64
static inline long linux_syscall3(long n, long a, long b, long c)
{
    long r;
    __asm__ volatile("int $0x80" : "=a"(r) : "a"(n), "b"(a), "c"(b), "d"(c) : "memory");
    return r;
}
#elif defined(__mips__)
#define NR_exit_group 4246
#define NR_write 4004
#define NR_getppid 4064
static inline long linux_syscall3(long n, long a, long b, long c)
{
    register long v0 __asm__("$2") = n;
    register long a0 __asm__("$4") = a;
    register long a1 __asm__("$5") = b;
    register long a2 __asm__("$6") = c;
    register long a3 __asm__("$7");
    __asm__ volatile("syscall"
                     : "+r"(v0), "=r"(a3)
                     : "r"(a0), "r"(a1), "r"(a2)
                     : "memory", "$1", "$3", "$8", "$9", "$10", "$11", "$12", "$13", "$14",
                       "$15", "$24", "$25");
    return a3 ? -v0 : v0;
}
#else
#error "no Linux system-call convention for this architecture"
#endif

#endif

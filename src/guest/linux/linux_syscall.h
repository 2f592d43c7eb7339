/*
 * Raw Linux system calls for small freestanding test and benchmark programs
 * (static, no libc): ARM EABI (svc 0, r7), i386 (int $0x80, eax), MIPS o32
 * (syscall, v0; a3 = error flag), RISC-V (ecall, a7; rv32 and rv64).  Results
 * are -errno on failure.  RISC-V has the generic table (asm-generic/unistd.h):
 * no open/fork/link/mkdir... (only their *at and clone forms), so the i386-style
 * NR_ list at the end is not there (LINUX_GENERIC_TABLE).
 */
#ifndef LINUX_SYSCALL_H
#define LINUX_SYSCALL_H

#if defined(__arm__)
#define NR_BASE 0
#define NR_exit_group 248
#define NR_getcwd 183
#define NR_openat 322
static inline long linux_syscall3(long n, long a, long b, long c)
{
    register long r7 __asm__("r7") = n;
    register long r0 __asm__("r0") = a;
    register long r1 __asm__("r1") = b;
    register long r2 __asm__("r2") = c;
    __asm__ volatile("svc #0" : "+r"(r0) : "r"(r7), "r"(r1), "r"(r2) : "memory");
    return r0;
}
/* mmap2 (192): six registers, the offset in pages (0 here). */
static inline long linux_mmap(long addr, long len, long prot, long flags, long fd)
{
    register long r7 __asm__("r7") = 192;
    register long r0 __asm__("r0") = addr;
    register long r1 __asm__("r1") = len;
    register long r2 __asm__("r2") = prot;
    register long r3 __asm__("r3") = flags;
    register long r4 __asm__("r4") = fd;
    register long r5 __asm__("r5") = 0;
    __asm__ volatile("svc #0"
                     : "+r"(r0)
                     : "r"(r7), "r"(r1), "r"(r2), "r"(r3), "r"(r4), "r"(r5)
                     : "memory");
    return r0;
}
#elif defined(__i386__)
#define NR_BASE 0
#define NR_exit_group 252
#define NR_getcwd 183
#define NR_openat 295
static inline long linux_syscall3(long n, long a, long b, long c)
{
    long r;
    __asm__ volatile("int $0x80" : "=a"(r) : "a"(n), "b"(a), "c"(b), "d"(c) : "memory");
    return r;
}
/* i386's old mmap (90): one pointer to the six arguments. */
static inline long linux_mmap(long addr, long len, long prot, long flags, long fd)
{
    volatile long args[6];
    args[0] = addr;
    args[1] = len;
    args[2] = prot;
    args[3] = flags;
    args[4] = fd;
    args[5] = 0;
    return linux_syscall3(90, (long)args, 0, 0);
}
#elif defined(__mips__)
#define NR_BASE 4000
#define NR_exit_group 4246
#define NR_getcwd 4203
#define NR_openat 4288
#define MIPS_SYSCALL_CLOBBERS "memory", "$1", "$3", "$8", "$9", "$10", "$11", "$12", "$13", \
    "$14", "$15", "$24", "$25"
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
                     : MIPS_SYSCALL_CLOBBERS);
    return a3 ? -v0 : v0;
}
/* mmap (4090): o32 passes the fifth and sixth arguments on the stack, at
 * 16 and 20 above the stack pointer of the syscall instruction. */
static inline long linux_mmap(long addr, long len, long prot, long flags, long fd)
{
    register long v0 __asm__("$2") = 4090;
    register long a0 __asm__("$4") = addr;
    register long a1 __asm__("$5") = len;
    register long a2 __asm__("$6") = prot;
    register long a3 __asm__("$7") = flags;
    __asm__ volatile("addiu $sp, $sp, -32\n\t"
                     "sw %[fd], 16($sp)\n\t"
                     "sw $0, 20($sp)\n\t"
                     "syscall\n\t"
                     "addiu $sp, $sp, 32"
                     : "+r"(v0), "+r"(a3)
                     : "r"(a0), "r"(a1), "r"(a2), [fd] "r"(fd)
                     : MIPS_SYSCALL_CLOBBERS);
    return a3 ? -v0 : v0;
}
#elif defined(__riscv)
#define LINUX_GENERIC_TABLE 1
#define NR_getcwd 17
#define NR_openat 56
#define NR_close 57
#define NR_read 63
#define NR_write 64
#define NR_exit_group 94
#define NR_nanosleep 101
#define NR_getppid 173
#define NR_mmap 222
/* An untagged a7 (no L4_RISCV_TAG): the L4 kernel hands the ecall to Wombat. */
static inline long linux_syscall6(long n, long a, long b, long c, long d, long e, long f)
{
    register long a7 __asm__("a7") = n;
    register long a0 __asm__("a0") = a;
    register long a1 __asm__("a1") = b;
    register long a2 __asm__("a2") = c;
    register long a3 __asm__("a3") = d;
    register long a4 __asm__("a4") = e;
    register long a5 __asm__("a5") = f;
    __asm__ volatile("ecall"
                     : "+r"(a0)
                     : "r"(a7), "r"(a1), "r"(a2), "r"(a3), "r"(a4), "r"(a5)
                     : "memory");
    return a0;
}
static inline long linux_syscall3(long n, long a, long b, long c)
{
    return linux_syscall6(n, a, b, c, 0, 0, 0);
}
/* rv64: mmap (222), the offset in bytes; rv32 has only mmap2 (222 too, in pages). */
static inline long linux_mmap(long addr, long len, long prot, long flags, long fd)
{
    return linux_syscall6(NR_mmap, addr, len, prot, flags, fd, 0);
}
#else
#error "no Linux system-call convention for this architecture"
#endif

#ifndef LINUX_GENERIC_TABLE
/* The calls whose numbers are i386's on ARM EABI too, and i386's + 4000 on MIPS o32. */
#define NR_fork (NR_BASE + 2)
#define NR_read (NR_BASE + 3)
#define NR_write (NR_BASE + 4)
#define NR_open (NR_BASE + 5)
#define NR_close (NR_BASE + 6)
#define NR_link (NR_BASE + 9)
#define NR_unlink (NR_BASE + 10)
#define NR_chdir (NR_BASE + 12)
#define NR_rename (NR_BASE + 38)
#define NR_mkdir (NR_BASE + 39)
#define NR_rmdir (NR_BASE + 40)
#define NR_getppid (NR_BASE + 64)
#define NR_symlink (NR_BASE + 83)
#define NR_readlink (NR_BASE + 85)
#define NR_wait4 (NR_BASE + 114)
#define NR_fchdir (NR_BASE + 133)
#define NR_nanosleep (NR_BASE + 162)
#endif

#endif

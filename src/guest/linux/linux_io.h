/*
 * Output for the small freestanding Linux programs (no libc): strings and
 * decimal numbers to standard output by write(2).
 */
#ifndef LINUX_IO_H
#define LINUX_IO_H
#include "linux_syscall.h"

static inline unsigned long length(const char *s)
{
    unsigned long n = 0;
    while (s[n])
        n++;
    return n;
}

static inline void put_n(const char *s, unsigned long n)
{
    linux_syscall3(NR_write, 1, (long)s, (long)n);
}

static inline void put(const char *s) { put_n(s, length(s)); }

static inline void put_num(long v)
{
    char buf[24];
    int i = sizeof buf;
    unsigned long u = v < 0 ? (unsigned long)-v : (unsigned long)v;
    buf[--i] = 0;
    do {
        buf[--i] = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    if (v < 0)
        buf[--i] = '-';
    put(buf + i);
}
#endif

/*
 * iguana-peer: the Linux half of Wombat's "native beside compat" scenario
 * (the native half is src/guest/apps/wombat-shared).  It waits for the
 * native program's memsection to appear as /dev/iguana/exchange, maps it
 * MAP_SHARED, waits for the request ("primes: 2 3 5 ..."), sums the numbers
 * and posts "sum=S count=N" in the same page.  Then it checks the rights of
 * the read-only memsection /dev/iguana/notice: O_RDWR and a shared writable
 * mapping are refused with EACCES, reading it works.  Exit 0 when all went
 * as expected.
 */
#include "linux_io.h"
#include "../include/wombat/shared_page.h"

#define O_RDONLY 0
#define O_RDWR 2
#define PROT_READ 1
#define PROT_WRITE 2
#define MAP_SHARED 1
#define EACCES 13
#define PAGE 4096

struct timespec32 { long sec; long nsec; };

static void nap(long ms)
{
    struct timespec32 t = { 0, ms * 1000000 };
    linux_syscall3(NR_nanosleep, (long)&t, 0, 0);
}

/* Writes the decimal of v at p; returns the end. */
static char *format(char *p, unsigned long v)
{
    char tmp[12];
    int n = 0;
    do {
        tmp[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    while (n)
        *p++ = tmp[--n];
    return p;
}

static long open_when_there(const char *path, long flags)
{
    for (int i = 0; i < 2000; i++) {
        long fd = linux_syscall3(NR_open, (long)path, flags, 0);
        if (fd != -2)                     /* ENOENT: not shared yet */
            return fd;
        nap(5);
    }
    return -2;
}

static void __attribute__((noreturn)) finish(int ok)
{
    put(ok ? "iguana-peer: OK\n" : "iguana-peer: FAILED\n");
    linux_syscall3(NR_exit_group, ok ? 0 : 1, 0, 0);
    for (;;) {
    }
}

void _start(void)
{
    long fd = open_when_there("/dev/iguana/exchange", O_RDWR);
    if (fd < 0) {
        put("iguana-peer: no /dev/iguana/exchange: ");
        put_num(fd);
        put("\n");
        finish(0);
    }
    long addr = linux_mmap(0, PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, fd);
    if (addr < 0 && addr > -4096) {
        put("iguana-peer: mmap failed: ");
        put_num(addr);
        put("\n");
        finish(0);
    }
    linux_syscall3(NR_close, fd, 0, 0);     /* the mapping stays */
    struct shared_page *page = (struct shared_page *)addr;
    for (int i = 0; i < 2000 && page->state != SHARED_REQUEST; i++)
        nap(5);
    if (page->state != SHARED_REQUEST)
        finish(0);

    unsigned long sum = 0, count = 0, len = page->request_len;
    if (len > SHARED_TEXT)
        len = SHARED_TEXT;
    for (unsigned long i = 0; i < len;) {
        if (page->request[i] < '0' || page->request[i] > '9') {
            i++;
            continue;
        }
        unsigned long v = 0;
        while (i < len && page->request[i] >= '0' && page->request[i] <= '9')
            v = v * 10 + (unsigned long)(page->request[i++] - '0');
        sum += v;
        count++;
    }
    char *p = page->answer;
    *p++ = 's', *p++ = 'u', *p++ = 'm', *p++ = '=';
    p = format(p, sum);
    *p++ = ' ', *p++ = 'c', *p++ = 'o', *p++ = 'u', *p++ = 'n', *p++ = 't', *p++ = '=';
    p = format(p, count);
    page->answer_len = (unsigned int)(p - page->answer);
    put("iguana-peer: request '");
    put_n(page->request, len);
    put("' -> answer '");
    put_n(page->answer, page->answer_len);
    put("'\n");
    page->state = SHARED_ANSWER;            /* after the line: the two sides' lines stay apart */
    for (int i = 0; i < 2000 && page->state != SHARED_DONE; i++)
        nap(5);

    /* The read-only memsection: the rights the native side gave hold. */
    long rw = open_when_there("/dev/iguana/notice", O_RDWR);
    long ro = linux_syscall3(NR_open, (long)"/dev/iguana/notice", O_RDONLY, 0);
    long wmap = ro >= 0 ? linux_mmap(0, PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, ro) : ro;
    long rmap = ro >= 0 ? linux_mmap(0, PAGE, PROT_READ, MAP_SHARED, ro) : ro;
    put("iguana-peer: notice O_RDWR ");
    put_num(rw);
    put(", PROT_WRITE ");
    put_num(wmap);
    if (rmap < 0 && rmap > -4096) {
        put(", read mapping failed ");
        put_num(rmap);
        put("\n");
        finish(0);
    }
    const char *notice = (const char *)rmap;
    put(", says '");
    put(notice);
    put("'\n");
    finish(rw == -EACCES && wmap == -EACCES && notice[0] != 0);
}

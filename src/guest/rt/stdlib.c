/* exit/abort/assert over the l4gdb KDebug Exit call, and small helpers. */
#include <stdlib.h>
#include <stdio.h>
#include <assert.h>
#include <l4/kdebug.h>

void exit(int status)
{
    for (;;)
        L4_KDB_Exit((L4_Word_t)status);
}

void abort(void)
{
    printf("abort()\n");
    exit(134);
}

void __rt_assert_fail(const char *expr, const char *file, int line, const char *func)
{
    printf("assertion failed: %s (%s:%d, %s)\n", expr, file, line, func);
    exit(134);
}

int abs(int x)
{
    return x < 0 ? -x : x;
}

static int digit_value(char c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'z') return c - 'a' + 10;
    if (c >= 'A' && c <= 'Z') return c - 'A' + 10;
    return 99;
}

unsigned long strtoul(const char *s, char **end, int base)
{
    unsigned long v = 0;
    while (*s == ' ' || *s == '\t')
        s++;
    if ((base == 0 || base == 16) && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
        s += 2;
        base = 16;
    } else if (base == 0) {
        base = s[0] == '0' ? 8 : 10;
    }
    for (int d; (d = digit_value(*s)) < base; s++)
        v = v * (unsigned long)base + (unsigned long)d;
    if (end)
        *end = (char *)s;
    return v;
}

long strtol(const char *s, char **end, int base)
{
    while (*s == ' ' || *s == '\t')
        s++;
    if (*s == '-')
        return -(long)strtoul(s + 1, end, base);
    if (*s == '+')
        s++;
    return (long)strtoul(s, end, base);
}

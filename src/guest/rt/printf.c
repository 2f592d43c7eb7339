/*
 * printf family.  Formatting writes into a sink; printf's sink is a buffer
 * on the caller's stack flushed with one KDebug PrintString per full buffer
 * or end of call, so lines from different threads never interleave
 * mid-call and a line costs one kernel entry.
 */
#include <stdio.h>
#include <string.h>
#include <stdint.h>
#include <l4/kdebug.h>

struct sink {
    char *buf;
    size_t cap;          /* bytes buf can take (snprintf keeps one for NUL) */
    size_t len;          /* bytes in buf now */
    size_t total;        /* bytes produced so far (the return value) */
    void (*flush)(struct sink *);
};

static void put(struct sink *s, char c)
{
    if (s->len == s->cap && s->flush)
        s->flush(s);
    if (s->len < s->cap)
        s->buf[s->len++] = c;
    s->total++;
}

static void put_repeat(struct sink *s, char c, int n)
{
    while (n-- > 0)
        put(s, c);
}

struct spec {
    int left, zero, plus, space, alt;
    int width, precision;       /* -1 = not given */
    int size;                   /* bytes of the argument: 1 2 4 8 */
};

static void put_field(struct sink *s, const struct spec *sp, const char *prefix,
                      const char *body, int body_len)
{
    int prefix_len = (int)strlen(prefix);
    int zeros = sp->precision > body_len ? sp->precision - body_len : 0;
    int pad = sp->width - prefix_len - zeros - body_len;
    if (sp->zero && !sp->left && sp->precision < 0) {
        zeros += pad > 0 ? pad : 0;
        pad = 0;
    }
    if (!sp->left)
        put_repeat(s, ' ', pad);
    while (*prefix)
        put(s, *prefix++);
    put_repeat(s, '0', zeros);
    for (int i = 0; i < body_len; i++)
        put(s, body[i]);
    if (sp->left)
        put_repeat(s, ' ', pad);
}

/* Digits of v in base 2..16 at the end of buf; returns the first digit. */
static char *utoa(unsigned long long v, unsigned base, int upper, char *end)
{
    const char *digits = upper ? "0123456789ABCDEF" : "0123456789abcdef";
    char *p = end;
    do {
        if (v <= 0xffffffffu) {         /* 32-bit division where it suffices */
            uint32_t w = (uint32_t)v;
            *--p = digits[w % base];
            v = w / base;
        } else {
            *--p = digits[v % base];
            v /= base;
        }
    } while (v);
    return p;
}

static void put_number(struct sink *s, struct spec *sp, char conv, unsigned long long v,
                       int negative)
{
    char buf[24];
    char *end = buf + sizeof(buf);
    unsigned base = conv == 'o' ? 8 : (conv == 'x' || conv == 'X' || conv == 'p') ? 16 : 10;
    char *digits = utoa(v, base, conv == 'X', end);
    const char *prefix = "";
    int len = (int)(end - digits);
    if (v == 0 && sp->precision == 0)
        len = 0;
    if (negative)
        prefix = "-";
    else if (conv == 'd' && sp->plus)
        prefix = "+";
    else if (conv == 'd' && sp->space)
        prefix = " ";
    else if ((sp->alt && v != 0 && base == 16) || conv == 'p')
        prefix = conv == 'X' ? "0X" : "0x";
    else if (sp->alt && base == 8 && digits[0] != '0')
        prefix = "0";
    put_field(s, sp, prefix, digits, len);
}

static unsigned long long arg_unsigned(va_list *ap, int size)
{
    if (size == 8)
        return va_arg(*ap, unsigned long long);
    unsigned int v = va_arg(*ap, unsigned int);
    return size == 1 ? (unsigned char)v : size == 2 ? (unsigned short)v : v;
}

static long long arg_signed(va_list *ap, int size)
{
    if (size == 8)
        return va_arg(*ap, long long);
    int v = va_arg(*ap, int);
    return size == 1 ? (signed char)v : size == 2 ? (short)v : v;
}

static const char *parse_spec(const char *f, struct spec *sp, va_list *ap)
{
    memset(sp, 0, sizeof(*sp));
    sp->precision = -1;
    sp->size = sizeof(int);
    for (;; f++) {
        if (*f == '-') sp->left = 1;
        else if (*f == '0') sp->zero = 1;
        else if (*f == '+') sp->plus = 1;
        else if (*f == ' ') sp->space = 1;
        else if (*f == '#') sp->alt = 1;
        else break;
    }
    if (*f == '*') {
        sp->width = va_arg(*ap, int);
        if (sp->width < 0) {
            sp->left = 1;
            sp->width = -sp->width;
        }
        f++;
    }
    while (*f >= '0' && *f <= '9')
        sp->width = sp->width * 10 + (*f++ - '0');
    if (*f == '.') {
        f++;
        sp->precision = 0;
        if (*f == '*') {
            sp->precision = va_arg(*ap, int);
            f++;
        }
        while (*f >= '0' && *f <= '9')
            sp->precision = sp->precision * 10 + (*f++ - '0');
    }
    /* Count the 'l's: with 32-bit long, "%lu" must not read 8 bytes just because
       sizeof(int) == sizeof(long). */
    int longs = 0;
    for (;; f++) {
        if (*f == 'h') sp->size = sp->size == 2 ? 1 : 2;
        else if (*f == 'l') sp->size = ++longs >= 2 ? 8 : sizeof(long);
        else if (*f == 'z' || *f == 't') sp->size = sizeof(size_t);
        else if (*f == 'j') sp->size = 8;
        else break;
    }
    return f;
}

static void format(struct sink *s, const char *f, va_list ap0)
{
    va_list ap;
    va_copy(ap, ap0);
    for (; *f; f++) {
        if (*f != '%') {
            put(s, *f);
            continue;
        }
        struct spec sp;
        f = parse_spec(f + 1, &sp, &ap);
        switch (*f) {
        case 'd': case 'i': {
            long long v = arg_signed(&ap, sp.size);
            put_number(s, &sp, 'd', v < 0 ? -(unsigned long long)v : (unsigned long long)v, v < 0);
            break;
        }
        case 'u': case 'x': case 'X': case 'o':
            put_number(s, &sp, *f, arg_unsigned(&ap, sp.size), 0);
            break;
        case 'p':
            put_number(s, &sp, 'p', (uintptr_t)va_arg(ap, void *), 0);
            break;
        case 'c': {
            char c = (char)va_arg(ap, int);
            sp.precision = -1;
            sp.zero = 0;
            put_field(s, &sp, "", &c, 1);
            break;
        }
        case 's': {
            const char *str = va_arg(ap, const char *);
            if (!str)
                str = "(null)";
            int len = sp.precision >= 0 ? (int)strnlen(str, (size_t)sp.precision)
                                        : (int)strlen(str);
            sp.precision = -1;
            sp.zero = 0;
            put_field(s, &sp, "", str, len);
            break;
        }
        case '%':
            put(s, '%');
            break;
        case 0:
            f--;                        /* lone '%' at the end */
            break;
        default:                        /* unknown: echo it */
            put(s, '%');
            put(s, *f);
        }
    }
    va_end(ap);
}

int vsnprintf(char *buf, size_t size, const char *fmt, va_list ap)
{
    struct sink s = { buf, size ? size - 1 : 0, 0, 0, NULL };
    format(&s, fmt, ap);
    if (size)
        buf[s.len] = 0;
    return (int)s.total;
}

int snprintf(char *buf, size_t size, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, size, fmt, ap);
    va_end(ap);
    return n;
}

int sprintf(char *buf, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, (size_t)-1 / 2, fmt, ap);
    va_end(ap);
    return n;
}

static void console_flush(struct sink *s)
{
    if (s->len)
        L4_KDB_PrintBuffer(s->buf, s->len);
    s->len = 0;
}

int vprintf(const char *fmt, va_list ap)
{
    char line[256];
    struct sink s = { line, sizeof(line), 0, 0, console_flush };
    format(&s, fmt, ap);
    console_flush(&s);
    return (int)s.total;
}

int printf(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vprintf(fmt, ap);
    va_end(ap);
    return n;
}

int putchar(int c)
{
    L4_KDB_PrintChar((char)c);
    return (unsigned char)c;
}

int puts(const char *s)
{
    printf("%s\n", s);
    return 0;
}

int getchar(void)
{
    return L4_KDB_ReadChar_Blocked();
}

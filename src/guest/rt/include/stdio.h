/* Console output over the KDebug PrintString call (rt/printf.c).
 * Supports %d %i %u %x %X %o %p %s %c %% with flags -0+ space #, width,
 * precision and the length modifiers hh h l ll z t j. */
#ifndef RT_STDIO_H
#define RT_STDIO_H

#include <stdarg.h>
#include <stddef.h>

#define EOF (-1)

int printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
int vprintf(const char *fmt, va_list ap);
int snprintf(char *buf, size_t size, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
int vsnprintf(char *buf, size_t size, const char *fmt, va_list ap);
int sprintf(char *buf, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int putchar(int c);
int puts(const char *s);
int getchar(void);

#endif

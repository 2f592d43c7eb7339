/* The bits of stdlib a freestanding L4 program needs. */
#ifndef RT_STDLIB_H
#define RT_STDLIB_H

#include <stddef.h>

void exit(int status) __attribute__((noreturn));
void abort(void) __attribute__((noreturn));
int abs(int x);
long strtol(const char *s, char **end, int base);
unsigned long strtoul(const char *s, char **end, int base);

#endif

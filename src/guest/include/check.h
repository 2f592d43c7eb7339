/* Test reporting for guest test programs (docs/internals.md section 8): one
 * PASS/FAIL/SKIP line per check and the closing totals the harness reads.
 * Linked in (src/guest/libcheck) when a program includes this header. */
#ifndef CHECK_H
#define CHECK_H

/* PASS group/name, or FAIL group/name: <detail printf-formatted>. */
void check(const char *group, const char *name, int ok, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
void skip(const char *group, const char *name, const char *why);
int summary(void);                      /* prints the totals; 0 = no failure */

#endif

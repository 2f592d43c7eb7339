/* Result lines and the closing totals (docs/internals.md section 8). */
#include <stdarg.h>
#include <check.h>
#include <stdio.h>

static int passed, failed, skipped;

void check(const char *group, const char *name, int ok, const char *fmt, ...)
{
    if (ok) {
        passed++;
        printf("PASS %s/%s\n", group, name);
        return;
    }
    char detail[160];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(detail, sizeof(detail), fmt, ap);
    va_end(ap);
    failed++;
    printf("FAIL %s/%s: %s\n", group, name, detail);
}

void skip(const char *group, const char *name, const char *why)
{
    skipped++;
    printf("SKIP %s/%s: %s\n", group, name, why);
}

int summary(void)
{
    printf("%d passed, %d failed, %d skipped\n", passed, failed, skipped);
    return failed ? 1 : 0;
}

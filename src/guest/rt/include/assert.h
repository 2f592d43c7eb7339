/* assert(): prints the failed expression and ends the run (status 134). */
#ifndef RT_ASSERT_H
#define RT_ASSERT_H

void __rt_assert_fail(const char *expr, const char *file, int line, const char *func)
    __attribute__((noreturn));

#ifdef NDEBUG
#  define assert(e) ((void)0)
#else
#  define assert(e) ((e) ? (void)0 : __rt_assert_fail(#e, __FILE__, __LINE__, __func__))
#endif

#endif

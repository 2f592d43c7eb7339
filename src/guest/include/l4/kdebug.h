/* Kernel debugger console (KDebug system call; docs/internals.md section 4). */
#ifndef L4_KDEBUG_H
#define L4_KDEBUG_H

#include <l4/types.h>
#include <l4/utcb.h>

#define __L4_KDB_PRINT_CHAR   0
#define __L4_KDB_READ_CHAR    1
#define __L4_KDB_PRINT_STRING 2
#define __L4_KDB_EXIT         3
#define __L4_KDB_ENTER        4

L4_INLINE void L4_KDB_PrintChar(char c) { __l4_arch_kdebug(__L4_KDB_PRINT_CHAR, (unsigned char)c, 0); }

/* A character, or -1 when none is waiting. */
L4_INLINE int L4_KDB_ReadChar(void) { return (int)__l4_arch_kdebug(__L4_KDB_READ_CHAR, 0, 0); }
L4_INLINE int L4_KDB_ReadChar_Blocked(void)
{
    int c;
    while ((c = L4_KDB_ReadChar()) < 0)
        ;
    return c;
}

L4_INLINE void L4_KDB_PrintBuffer(const char *s, L4_Word_t len)
{
    __l4_arch_kdebug(__L4_KDB_PRINT_STRING, (L4_Word_t)s, len);
}
L4_INLINE void L4_KDB_PrintString(const char *s)
{
    L4_Word_t n = 0;
    while (s[n])
        n++;
    L4_KDB_PrintBuffer(s, n);
}

/* Prints "KDB: msg" and continues. */
L4_INLINE void L4_KDB_Enter(const char *msg) { __l4_arch_kdebug(__L4_KDB_ENTER, (L4_Word_t)msg, 0); }

/* l4gdb extension: end the run with this status (root task). */
L4_INLINE void L4_KDB_Exit(L4_Word_t status) { __l4_arch_kdebug(__L4_KDB_EXIT, status, 0); }

#endif /* L4_KDEBUG_H */

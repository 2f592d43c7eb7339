/* UTCB word offsets (docs/internals.md section 5), the same on every arch. */
#ifndef L4_UTCB_H
#define L4_UTCB_H

#include <l4/types.h>
#include <l4/arch/syscalls.h>

#define __L4_NUM_MRS               64
#define __L4_NUM_BRS               33

#define __L4_TCR_MR0               0
#define __L4_TCR_MY_GLOBAL_ID      64
#define __L4_TCR_PROCESSOR_NO      65
#define __L4_TCR_USER_DEFINED_HANDLE 66
#define __L4_TCR_PAGER             67
#define __L4_TCR_EXCEPTION_HANDLER 68
#define __L4_TCR_FLAGS             69   /* byte 0 PreemptFlags, byte 1 CopFlags */
#define __L4_TCR_ERROR_CODE        70
#define __L4_TCR_XFER_TIMEOUTS     71
#define __L4_TCR_INTENDED_RECEIVER 72
#define __L4_TCR_ACTUAL_SENDER     73   /* also VirtualSender */
#define __L4_TCR_THREAD_WORD0      74
#define __L4_TCR_THREAD_WORD1      75
#define __L4_TCR_BR0               80

L4_INLINE volatile L4_Word_t *__L4_Utcb(void)
{
    return (volatile L4_Word_t *)__l4_arch_utcb();
}

L4_INLINE L4_Word_t __L4_TCR(int index) { return __L4_Utcb()[index]; }
L4_INLINE void __L4_Set_TCR(int index, L4_Word_t value) { __L4_Utcb()[index] = value; }

/* ErrorCode TCR: set by a failed system call (IPC or not). */
L4_INLINE L4_Word_t L4_ErrorCode(void) { return __L4_TCR(__L4_TCR_ERROR_CODE); }

#endif /* L4_UTCB_H */

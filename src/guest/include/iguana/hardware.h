#ifndef IGUANA_HARDWARE_H
#define IGUANA_HARDWARE_H
#include <iguana/types.h>

/* thrd (nil: me) handles interrupt irq; needs the hardware capability. */
int hardware_register_interrupt(L4_ThreadId_t thrd, int irq);
/* A user memsection backed by device memory from paddr on. */
int hardware_back_memsection(memsection_ref_t ms, uintptr_t paddr, uintptr_t attributes);
#endif

#include <iguana/iguana.h>

/* hw reference 0: the server's hardware object, as OKL4's library passes. */
int hardware_register_interrupt(L4_ThreadId_t thrd, int irq)
{
    L4_Word_t in[3] = { 0, thrd.raw, (L4_Word_t)irq };
    return iguana_call(IGUANA_IID_HARDWARE, 0, 3, in, 0, 0);
}

int hardware_back_memsection(memsection_ref_t ms, uintptr_t paddr, uintptr_t attributes)
{
    L4_Word_t in[4] = { 0, ms, paddr, attributes };
    return iguana_call(IGUANA_IID_HARDWARE, 1, 4, in, 0, 0);
}

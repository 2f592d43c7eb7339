/* L4 X.2 address spaces: SpaceControl, Unmap/Flush/GetStatus, MemoryControl. */
#ifndef L4_SPACE_H
#define L4_SPACE_H

#include <l4/types.h>
#include <l4/message.h>

#define __L4_UNMAP_FLUSH 0x40

L4_INLINE L4_Word_t L4_SpaceControl(L4_ThreadId_t space_specifier, L4_Word_t control,
                                    L4_Fpage_t kip_area, L4_Fpage_t utcb_area,
                                    L4_ThreadId_t redirector, L4_Word_t *old_control)
{
    return __l4_arch_space_control(space_specifier.raw, control, kip_area.raw,
                                   utcb_area.raw, redirector.raw, old_control);
}

/* Unmap the fpages in MR0..MR(control & 0x3f); bit 0x40 flushes. */
L4_INLINE void L4_Unmap(L4_Word_t control) { __l4_arch_unmap(control); }

/* One fpage through MR0: returns it with the access bits the kernel set. */
L4_INLINE L4_Fpage_t __L4_UnmapOne(L4_Fpage_t f, L4_Word_t control)
{
    L4_LoadMR(0, f.raw);
    L4_Unmap(control);
    L4_StoreMR(0, &f.raw);
    return f;
}
L4_INLINE L4_Fpage_t L4_UnmapFpage(L4_Fpage_t f) { return __L4_UnmapOne(f, 0); }
L4_INLINE L4_Fpage_t L4_Flush(L4_Fpage_t f) { return __L4_UnmapOne(f, __L4_UNMAP_FLUSH); }
L4_INLINE L4_Fpage_t L4_GetStatus(L4_Fpage_t f)
{
    f.raw &= ~7UL;
    return __L4_UnmapOne(f, 0);
}

L4_INLINE void __L4_UnmapMany(L4_Word_t n, L4_Fpage_t *fpages, L4_Word_t control)
{
    L4_LoadMRs(0, (int)n, &fpages[0].raw);
    L4_Unmap(control | ((n - 1) & 0x3f));
    L4_StoreMRs(0, (int)n, &fpages[0].raw);
}
L4_INLINE void L4_UnmapFpages(L4_Word_t n, L4_Fpage_t *fpages) { __L4_UnmapMany(n, fpages, 0); }
L4_INLINE void L4_FlushFpages(L4_Word_t n, L4_Fpage_t *fpages) { __L4_UnmapMany(n, fpages, __L4_UNMAP_FLUSH); }

L4_INLINE L4_Bool_t L4_WasReferenced(L4_Fpage_t f) { return (f.raw & L4_Readable) != 0; }
L4_INLINE L4_Bool_t L4_WasWritten(L4_Fpage_t f) { return (f.raw & L4_Writable) != 0; }
L4_INLINE L4_Bool_t L4_WasExecuted(L4_Fpage_t f) { return (f.raw & L4_eXecutable) != 0; }

#define L4_DefaultMemory 0
L4_INLINE L4_Word_t L4_MemoryControl(L4_Word_t control, const L4_Word_t *attributes)
{
    return __l4_arch_memory_control(control, attributes[0], attributes[1], attributes[2],
                                    attributes[3]);
}

L4_INLINE L4_Word_t L4_ProcessorControl(L4_Word_t processor, L4_Word_t internal_freq,
                                        L4_Word_t external_freq, L4_Word_t voltage)
{
    return __l4_arch_processor_control(processor, internal_freq, external_freq, voltage);
}

#endif /* L4_SPACE_H */

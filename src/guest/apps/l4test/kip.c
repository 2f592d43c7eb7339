/* kip: the Kernel Interface Page and the KernelInterface system call. */
#include "l4test.h"

#define G "kip"

/* Call KernelInterface at several stack depths (Pistachio's thrash). */
static int thrash(int depth)
{
    volatile L4_Word_t pad[8];
    L4_Word_t v, f, id;
    int bad = 0;
    pad[0] = (L4_Word_t)depth;
    for (int i = 0; i < 20; i++)
        if (L4_KernelInterface(&v, &f, &id) != kip)
            bad++;
    if (depth > 0)
        bad += thrash(depth - 1);
    return bad + (pad[0] != (L4_Word_t)depth);
}

void kip_tests(void)
{
    L4_KernelInterfacePage_t *k = kip;
    L4_Word_t version, flags, id;
    void *addr = L4_KernelInterface(&version, &flags, &id);

    check(G, "magic", k->magic.raw == L4_KIP_MAGIC, "magic 0x%lx", k->magic.raw);
    check(G, "page-aligned", ((L4_Word_t)addr & 0xfff) == 0, "kip at %p", addr);
    check(G, "api-version", version == k->ApiVersion.raw && (version >> 24) == L4_APIVERSION_X2,
          "syscall 0x%lx, kip 0x%lx", version, k->ApiVersion.raw);
    const union { L4_Word_t w; unsigned char b; } probe = { .w = 1 };
    check(G, "api-flags",
          flags == k->ApiFlags.raw && ((flags >> 2) & 3) == (sizeof(L4_Word_t) == 8)
              && (flags & 3) == (probe.b == 1 ? 0 : 1),
          "syscall 0x%lx, kip 0x%lx", flags, k->ApiFlags.raw);
    check(G, "kernel-id", id == L4_KernelDesc(k)->KernelId.raw,
          "syscall 0x%lx, descriptor 0x%lx", id, L4_KernelDesc(k)->KernelId.raw);
    /* every pointer in the KIP stays inside the KIP area (Pistachio's check_kipptr) */
    L4_Word_t area = 1UL << L4_KipAreaSizeLog2(k);
    check(G, "kip-area", L4_KipAreaSizeLog2(k) >= 10 && ((L4_Word_t)addr & (area - 1)) == 0,
          "KipAreaInfo s %lu, kip at %p", L4_KipAreaSizeLog2(k), addr);
    check(G, "kernel-desc-in-kip", k->KernelVerPtr > 0 && k->KernelVerPtr + sizeof(L4_KernelDesc_t) <= area,
          "KernelVerPtr 0x%lx, area 0x%lx", k->KernelVerPtr, area);
    check(G, "version-string", L4_KernelVersionString(k)[0] != 0, "empty version string");
    L4_Word_t bad_pdesc = ~0UL;
    for (L4_Word_t cpu = 0; cpu < L4_NumProcessors(k); cpu++) {
        L4_Word_t off = (L4_Word_t)L4_ProcDesc(k, cpu) - (L4_Word_t)k;
        if (L4_ProcDesc(k, cpu) == 0 || off + sizeof(L4_ProcDesc_t) > area
            || L4_ProcDescInternalFreq(L4_ProcDesc(k, cpu)) == 0)
            bad_pdesc = cpu;
    }
    check(G, "proc-desc-in-kip", k->ProcDescPtr > 0 && bad_pdesc == ~0UL,
          "ProcDescPtr 0x%lx, bad descriptor of cpu %ld", k->ProcDescPtr, (long)bad_pdesc);

    L4_Word_t t = L4_ThreadIdBits(k), sys = L4_ThreadIdSystemBase(k), user = L4_ThreadIdUserBase(k);
    L4_Word_t me = L4_ThreadNo(main_tid);
    check(G, "thread-info", t >= 14 && sys > 0 && sys < user && me >= user && me < (1UL << t),
          "t %lu system %lu user %lu root %lu", t, sys, user, me);

    /* UtcbAreaInfo: a UTCB is m * 2^a bytes, aligned to 2^a; 2^s is the
     * smallest UTCB area (an fpage, so at least 2^10) and holds one UTCB. */
    L4_Word_t size = L4_UtcbSize(k), a = L4_UtcbAlignmentLog2(k), s = L4_UtcbAreaSizeLog2(k);
    check(G, "utcb-info",
          size >= 128 * sizeof(L4_Word_t) && (L4_MyLocalId().raw & ((1UL << a) - 1)) == 0
              && s >= 10 && (1UL << s) >= size,
          "utcb size %lu, align log2 %lu, min area log2 %lu, ours at 0x%lx", size, a, s,
          L4_MyLocalId().raw);
    check(G, "page-info", (L4_PageSizeMask(k) & 0x1000) != 0, "page size mask 0x%lx",
          L4_PageSizeMask(k));
    check(G, "processors", L4_NumProcessors(k) >= 1, "%lu processors", L4_NumProcessors(k));

    int bad = thrash(9);
    check(G, "thrash", bad == 0, "%d wrong answers in 200 calls", bad);
}

/*
 * The Kernel Interface Page (docs/internals.md section 6): the structure at
 * Pistachio's offsets (32-bit shown; on 64-bit every word doubles), the
 * field views and the accessor functions of the X.2 C binding.
 */
#ifndef L4_KIP_H
#define L4_KIP_H

#include <l4/types.h>
#include <l4/utcb.h>

#define L4_KIP_MAGIC      0x4be6344cUL   /* 'L','4',230,'K' little endian */
#define L4_APIVERSION_X2  0x84
#define L4_APIFLAG_LE     0
#define L4_APIFLAG_BE     1
#define L4_APIFLAG_32BIT  0
#define L4_APIFLAG_64BIT  1

typedef union {
    L4_Word_t raw;
    struct { L4_Word_t __res : 16; L4_Word_t subversion : 8; L4_Word_t version : 8; } X;
} L4_ApiVersion_t;

typedef union {
    L4_Word_t raw;
    struct { L4_Word_t ee : 2; L4_Word_t ww : 2; } X;
} L4_ApiFlags_t;

typedef union {
    L4_Word_t raw;
    struct { L4_Word_t __res : 16; L4_Word_t subid : 8; L4_Word_t id : 8; } X;
} L4_KernelId_t;

typedef union {
    L4_Word_t raw;
    struct { L4_Word_t n : __L4_HALF_BITS; L4_Word_t MemDescPtr : __L4_HALF_BITS; } X;
} L4_MemoryInfo_t;

typedef union {
    L4_Word_t raw;
    struct { L4_Word_t m : 10; L4_Word_t a : 6; L4_Word_t s : 6; } X;   /* m lowest, as kip.h */
} L4_UtcbAreaInfo_t;

typedef union {
    L4_Word_t raw;
    struct { L4_Word_t s : 6; } X;
} L4_KipAreaInfo_t;

typedef union {
    L4_Word_t raw;
    struct { L4_Word_t ReadPrecision : 16; L4_Word_t SchedulePrecision : 16; } X;
} L4_ClockInfo_t;

typedef union {
    L4_Word_t raw;
    struct { L4_Word_t t : 8; L4_Word_t SystemBase : 12; L4_Word_t UserBase : 12; } X;
} L4_ThreadInfo_t;

typedef union {
    L4_Word_t raw;
    struct { L4_Word_t rwx : 3; L4_Word_t __res : 7; L4_Word_t page_size_mask : 22; } X;
} L4_PageInfo_t;

typedef union {
    L4_Word_t raw;
    struct { L4_Word_t processors : 16; L4_Word_t __res : 12; L4_Word_t s : 4; } X;
} L4_ProcessorInfo_t;

typedef struct {
    L4_Word_t sp, ip, low, high;
} L4_KipServer_t;

typedef struct {
    union { L4_Word_t raw; L4_Word8_t string[4]; } magic;   /* 0x00 */
    L4_ApiVersion_t   ApiVersion;                           /* 0x04 */
    L4_ApiFlags_t     ApiFlags;                             /* 0x08 */
    L4_Word_t         KernelVerPtr;                         /* 0x0C */
    struct { L4_Word_t init, entry, low, high; } Kdebug;    /* 0x10 */
    L4_KipServer_t    sigma0;                               /* 0x20 */
    L4_KipServer_t    sigma1;                               /* 0x30 */
    L4_KipServer_t    rootserver;                           /* 0x40 */
    L4_Word_t         __reserved50;                         /* 0x50 */
    L4_MemoryInfo_t   MemoryInfo;                           /* 0x54 */
    L4_Word_t         __reserved58[20];                     /* 0x58 */
    L4_UtcbAreaInfo_t UtcbAreaInfo;                         /* 0xA8 */
    L4_KipAreaInfo_t  KipAreaInfo;                          /* 0xAC */
    L4_Word_t         __reservedB0[2];                      /* 0xB0 */
    L4_Word_t         BootInfo;                             /* 0xB8 */
    L4_Word_t         ProcDescPtr;                          /* 0xBC */
    L4_ClockInfo_t    ClockInfo;                            /* 0xC0 */
    L4_ThreadInfo_t   ThreadInfo;                           /* 0xC4 */
    L4_PageInfo_t     PageInfo;                             /* 0xC8 */
    L4_ProcessorInfo_t ProcessorInfo;                       /* 0xCC */
    L4_Word_t SpaceControl, ThreadControl, ProcessorControl, MemoryControl; /* 0xD0 */
    L4_Word_t Ipc, Lipc, Unmap, ExchangeRegisters;          /* 0xE0 */
    L4_Word_t SystemClock, ThreadSwitch, Schedule;          /* 0xF0 */
    L4_Word_t __reservedFC;                                 /* 0xFC */
} L4_KernelInterfacePage_t;

#define __L4_KIP_OFFSET_OK(field, off32) \
    _Static_assert(__builtin_offsetof(L4_KernelInterfacePage_t, field) \
                   == (off32) / 4 * sizeof(L4_Word_t), "KIP field " #field)
__L4_KIP_OFFSET_OK(KernelVerPtr, 0x0C);
__L4_KIP_OFFSET_OK(MemoryInfo, 0x54);
__L4_KIP_OFFSET_OK(UtcbAreaInfo, 0xA8);
__L4_KIP_OFFSET_OK(BootInfo, 0xB8);
__L4_KIP_OFFSET_OK(ThreadInfo, 0xC4);
__L4_KIP_OFFSET_OK(ProcessorInfo, 0xCC);
__L4_KIP_OFFSET_OK(Ipc, 0xE0);
__L4_KIP_OFFSET_OK(Schedule, 0xF8);
#undef __L4_KIP_OFFSET_OK

/* Kernel descriptor at kip + KernelVerPtr, then the version string and the
 * feature strings (each NUL-terminated, the list ended by an empty one). */
typedef struct {
    L4_KernelId_t KernelId;
    L4_Word_t     KernelGenDate;   /* day:5 | month:4 | year-2000:7 */
    L4_Word_t     KernelVer;
    L4_Word_t     Supplier;        /* four characters, e.g. "UKa " */
} L4_KernelDesc_t;

typedef union {
    L4_Word_t raw[2];
    struct {
        L4_Word_t type : 4;
        L4_Word_t t : 4;
        L4_Word_t __zero : 1;
        L4_Word_t v : 1;
        L4_Word_t low : L4_WORD_BITS - 10;
        L4_Word_t __res : 10;
        L4_Word_t high : L4_WORD_BITS - 10;
    } x;
} L4_MemoryDesc_t;

#define L4_UndefinedMemoryType             0x0
#define L4_ConventionalMemoryType          0x1
#define L4_ReservedMemoryType              0x2
#define L4_DedicatedMemoryType             0x3
#define L4_SharedMemoryType                0x4
#define L4_BootLoaderSpecificMemoryType    0xe
#define L4_ArchitectureSpecificMemoryType  0xf

/* ---- the system call and the accessors ---- */
L4_INLINE void *L4_KernelInterface(L4_Word_t *api_version, L4_Word_t *api_flags,
                                   L4_Word_t *kernel_id)
{
    return __l4_arch_kernel_interface(api_version, api_flags, kernel_id);
}
L4_INLINE void *L4_GetKernelInterface(void)
{
    L4_Word_t v, f, id;
    return L4_KernelInterface(&v, &f, &id);
}
L4_INLINE L4_Word_t L4_ApiVersion(void)
{
    L4_Word_t v, f, id;
    L4_KernelInterface(&v, &f, &id);
    return v;
}
L4_INLINE L4_Word_t L4_ApiFlags(void)
{
    L4_Word_t v, f, id;
    L4_KernelInterface(&v, &f, &id);
    return f;
}
L4_INLINE L4_Word_t L4_KernelId(void)
{
    L4_Word_t v, f, id;
    L4_KernelInterface(&v, &f, &id);
    return id;
}

#define __L4_KIP(k) ((L4_KernelInterfacePage_t *)(k))

L4_INLINE L4_Word_t L4_ThreadIdBits(void *kip) { return __L4_KIP(kip)->ThreadInfo.raw & 0xff; }
L4_INLINE L4_Word_t L4_ThreadIdSystemBase(void *kip) { return (__L4_KIP(kip)->ThreadInfo.raw >> 8) & 0xfff; }
L4_INLINE L4_Word_t L4_ThreadIdUserBase(void *kip) { return (__L4_KIP(kip)->ThreadInfo.raw >> 20) & 0xfff; }
L4_INLINE L4_Word_t L4_PageSizeMask(void *kip) { return __L4_KIP(kip)->PageInfo.raw & ~0x3ffUL; }
L4_INLINE L4_Word_t L4_PageRights(void *kip) { return __L4_KIP(kip)->PageInfo.raw & 7; }
/* UtcbAreaInfo: m in bits 0..9, a in bits 10..15, s in bits 16..21. */
L4_INLINE L4_Word_t L4_UtcbAreaSizeLog2(void *kip) { return (__L4_KIP(kip)->UtcbAreaInfo.raw >> 16) & 0x3f; }
L4_INLINE L4_Word_t L4_UtcbAlignmentLog2(void *kip) { return (__L4_KIP(kip)->UtcbAreaInfo.raw >> 10) & 0x3f; }
L4_INLINE L4_Word_t L4_UtcbSize(void *kip)
{
    L4_Word_t info = __L4_KIP(kip)->UtcbAreaInfo.raw;
    return (info & 0x3ff) << ((info >> 10) & 0x3f);
}
L4_INLINE L4_Word_t L4_KipAreaSizeLog2(void *kip) { return __L4_KIP(kip)->KipAreaInfo.raw & 0x3f; }
L4_INLINE L4_Word_t L4_BootInfo(void *kip) { return __L4_KIP(kip)->BootInfo; }
L4_INLINE L4_Word_t L4_NumProcessors(void *kip) { return (__L4_KIP(kip)->ProcessorInfo.raw & 0xffff) + 1; }
L4_INLINE L4_Word_t L4_ReadPrecision(void *kip) { return __L4_KIP(kip)->ClockInfo.raw & 0xffff; }
L4_INLINE L4_Word_t L4_SchedulePrecision(void *kip) { return (__L4_KIP(kip)->ClockInfo.raw >> 16) & 0xffff; }

L4_INLINE L4_KernelDesc_t *L4_KernelDesc(void *kip)
{
    return (L4_KernelDesc_t *)((char *)kip + __L4_KIP(kip)->KernelVerPtr);
}
L4_INLINE L4_Word_t L4_KernelVersion(void *kip) { return L4_KernelDesc(kip)->KernelVer; }
L4_INLINE L4_Word_t L4_KernelSupplier(void *kip) { return L4_KernelDesc(kip)->Supplier; }
L4_INLINE char *L4_KernelVersionString(void *kip)
{
    return (char *)(L4_KernelDesc(kip) + 1);
}

/* Feature string n (0-based), or 0 past the end of the list. */
L4_INLINE char *L4_Feature(void *kip, L4_Word_t n)
{
    char *s = L4_KernelVersionString(kip);
    for (;;) {
        while (*s++)
            ;
        if (*s == 0)
            return (char *)0;
        if (n-- == 0)
            return s;
    }
}

/* Processor descriptors: 2^s bytes each (s in the top 4 bits of
 * ProcessorInfo), the first at kip + ProcDescPtr. */
typedef struct {
    L4_Word_t ExternalFreq;             /* kHz */
    L4_Word_t InternalFreq;             /* kHz */
} L4_ProcDesc_t;

L4_INLINE L4_ProcDesc_t *L4_ProcDesc(void *kip, L4_Word_t cpu)
{
    L4_Word_t log2size = __L4_KIP(kip)->ProcessorInfo.raw >> (8 * sizeof(L4_Word_t) - 4);
    if (cpu >= L4_NumProcessors(kip))
        return (L4_ProcDesc_t *)0;
    return (L4_ProcDesc_t *)((char *)kip + __L4_KIP(kip)->ProcDescPtr + (cpu << log2size));
}
L4_INLINE L4_Word_t L4_ProcDescExternalFreq(L4_ProcDesc_t *p) { return p->ExternalFreq; }
L4_INLINE L4_Word_t L4_ProcDescInternalFreq(L4_ProcDesc_t *p) { return p->InternalFreq; }

L4_INLINE L4_Word_t L4_NumMemoryDescriptors(void *kip)
{
    return __L4_KIP(kip)->MemoryInfo.raw & ((1UL << __L4_HALF_BITS) - 1);
}
L4_INLINE L4_MemoryDesc_t *L4_MemoryDesc(void *kip, L4_Word_t n)
{
    L4_Word_t offset = __L4_KIP(kip)->MemoryInfo.raw >> __L4_HALF_BITS;
    if (n >= L4_NumMemoryDescriptors(kip))
        return (L4_MemoryDesc_t *)0;
    return (L4_MemoryDesc_t *)((char *)kip + offset) + n;
}
L4_INLINE L4_Word_t L4_MemoryDescType(L4_MemoryDesc_t *m) { return m->raw[0] & 0xf; }
L4_INLINE L4_Word_t L4_MemoryDescSubType(L4_MemoryDesc_t *m) { return (m->raw[0] >> 4) & 0xf; }
L4_INLINE L4_Bool_t L4_IsMemoryDescVirtual(L4_MemoryDesc_t *m) { return (m->raw[0] >> 9) & 1; }
L4_INLINE L4_Word_t L4_MemoryDescLow(L4_MemoryDesc_t *m) { return m->raw[0] & ~0x3ffUL; }
L4_INLINE L4_Word_t L4_MemoryDescHigh(L4_MemoryDesc_t *m) { return m->raw[1] | 0x3ffUL; }

#endif /* L4_KIP_H */

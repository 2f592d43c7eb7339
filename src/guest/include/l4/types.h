/*
 * L4 X.2 basic types: words, thread ids, time values, fpages.
 * Word-size neutral: everything is L4_Word_t (unsigned long, 32 or 64 bits);
 * bit-field views assume a little-endian CPU, the accessors use shifts.
 */
#ifndef L4_TYPES_H
#define L4_TYPES_H

typedef unsigned long      L4_Word_t;
typedef unsigned long long L4_Word64_t;
typedef unsigned int       L4_Word32_t;
typedef unsigned short     L4_Word16_t;
typedef unsigned char      L4_Word8_t;
typedef L4_Word_t          L4_Bool_t;

#define L4_WORD_BITS   (__SIZEOF_LONG__ * 8)
#if __SIZEOF_LONG__ == 8
#  define L4_64BIT 1
#  define __L4_HALF_BITS 32
#else
#  define L4_32BIT 1
#  define __L4_HALF_BITS 16
#endif

#ifndef L4_INLINE
#  define L4_INLINE static inline
#endif

/* ---- thread ids: global = thread_no:18|version:14 (32:32 on 64-bit),
 *      local = UTCB address (low 6 bits zero) ---- */
#if L4_64BIT
#  define __L4_VERSION_BITS 32
#else
#  define __L4_VERSION_BITS 14
#endif
#define __L4_LOCAL_ZERO_BITS 6

typedef union {
    L4_Word_t raw;
    struct {
        L4_Word_t version : __L4_VERSION_BITS;
        L4_Word_t thread_no : L4_WORD_BITS - __L4_VERSION_BITS;
    } global;
    struct {
        L4_Word_t __zeros : __L4_LOCAL_ZERO_BITS;
        L4_Word_t local_id : L4_WORD_BITS - __L4_LOCAL_ZERO_BITS;
    } local;
} L4_ThreadId_t;

#define L4_nilthread      ((L4_ThreadId_t){ .raw = 0 })
#define L4_anythread      ((L4_ThreadId_t){ .raw = ~0UL })
#define L4_anylocalthread ((L4_ThreadId_t){ .raw = ~0UL << __L4_LOCAL_ZERO_BITS })

L4_INLINE L4_ThreadId_t L4_GlobalId(L4_Word_t thread_no, L4_Word_t version)
{
    L4_ThreadId_t t;
    t.raw = (thread_no << __L4_VERSION_BITS)
          | (version & ((1UL << __L4_VERSION_BITS) - 1));
    return t;
}

L4_INLINE L4_Word_t L4_Version(L4_ThreadId_t t)
{
    return t.raw & ((1UL << __L4_VERSION_BITS) - 1);
}

L4_INLINE L4_Word_t L4_ThreadNo(L4_ThreadId_t t)
{
    return t.raw >> __L4_VERSION_BITS;
}

L4_INLINE L4_Bool_t L4_IsThreadEqual(L4_ThreadId_t a, L4_ThreadId_t b)
{
    return a.raw == b.raw;
}

L4_INLINE L4_Bool_t L4_IsThreadNotEqual(L4_ThreadId_t a, L4_ThreadId_t b)
{
    return a.raw != b.raw;
}

L4_INLINE L4_Bool_t L4_IsNilThread(L4_ThreadId_t t) { return t.raw == 0; }
L4_INLINE L4_Bool_t L4_IsLocalId(L4_ThreadId_t t)
{
    return (t.raw & ((1UL << __L4_LOCAL_ZERO_BITS) - 1)) == 0;
}
L4_INLINE L4_Bool_t L4_IsGlobalId(L4_ThreadId_t t) { return !L4_IsLocalId(t); }

/* ---- time: 16-bit values; a period is m * 2^e microseconds ---- */
typedef union {
    L4_Word16_t raw;
    struct {
        L4_Word16_t m : 10;
        L4_Word16_t e : 5;
        L4_Word16_t a : 1;      /* 0 = period, 1 = point */
    } period;
    struct {
        L4_Word16_t m : 10;
        L4_Word16_t c : 1;
        L4_Word16_t e : 4;
        L4_Word16_t a : 1;
    } point;
} L4_Time_t;

#define L4_Never    ((L4_Time_t){ .raw = 0 })
#define L4_ZeroTime ((L4_Time_t){ .raw = 1 << 10 })   /* e = 1, m = 0 */

/* Largest m (< 1024) with the smallest e; truncates like Pistachio. */
L4_INLINE L4_Time_t L4_TimePeriod(L4_Word64_t microseconds)
{
    L4_Time_t t;
    L4_Word_t e = 0;
    if (microseconds == 0)
        return L4_ZeroTime;
    while (microseconds >= 1024 && e < 31) {
        microseconds >>= 1;
        e++;
    }
    if (microseconds >= 1024)
        microseconds = 1023;
    t.raw = (L4_Word16_t)((e << 10) | microseconds);
    return t;
}

L4_INLINE L4_Bool_t L4_IsTimePeriod(L4_Time_t t) { return (t.raw & 0x8000) == 0; }

/* Microseconds of a period (Never -> ~0). */
L4_INLINE L4_Word64_t L4_TimePeriodUsec(L4_Time_t t)
{
    if (t.raw == 0)
        return ~0ULL;
    return (L4_Word64_t)(t.raw & 0x3ff) << ((t.raw >> 10) & 0x1f);
}

L4_INLINE L4_Bool_t L4_IsTimeEqual(L4_Time_t a, L4_Time_t b) { return a.raw == b.raw; }

/* ---- fpages: b:22(54) | s:6 | extended:1 | rwx:3 ---- */
typedef union {
    L4_Word_t raw;
    struct {
        L4_Word_t rwx : 3;
        L4_Word_t extended : 1;
        L4_Word_t s : 6;
        L4_Word_t b : L4_WORD_BITS - 10;
    } X;
} L4_Fpage_t;

#define L4_NoAccess          0x00
#define L4_Readable          0x04
#define L4_Writable          0x02
#define L4_eXecutable        0x01
#define L4_FullyAccessible   0x07
#define L4_ReadWriteOnly     0x06
#define L4_ReadeXecOnly      0x05

#define L4_Nilpage               ((L4_Fpage_t){ .raw = 0 })
#define L4_CompleteAddressSpace  ((L4_Fpage_t){ .raw = 1 << 4 })

L4_INLINE L4_Fpage_t L4_FpageLog2(L4_Word_t base, int size_log2)
{
    L4_Fpage_t f;
    L4_Word_t mask = size_log2 >= (int)L4_WORD_BITS ? ~0UL : (1UL << size_log2) - 1;
    f.raw = (base & ~mask & ~0x3ffUL) | ((L4_Word_t)(size_log2 & 0x3f) << 4);
    return f;
}

/* Size rounded up to a power of two, as Pistachio does. */
L4_INLINE L4_Fpage_t L4_Fpage(L4_Word_t base, L4_Word_t size)
{
    int log2 = 0;
    while (log2 < (int)L4_WORD_BITS && (1UL << log2) < size)
        log2++;
    return L4_FpageLog2(base, log2);
}

L4_INLINE L4_Word_t L4_SizeLog2(L4_Fpage_t f) { return (f.raw >> 4) & 0x3f; }
L4_INLINE L4_Word_t L4_Size(L4_Fpage_t f)
{
    L4_Word_t s = L4_SizeLog2(f);
    return s >= L4_WORD_BITS ? 0 : 1UL << s;
}
L4_INLINE L4_Word_t L4_Address(L4_Fpage_t f)
{
    L4_Word_t s = L4_SizeLog2(f);
    L4_Word_t mask = s >= L4_WORD_BITS ? ~0UL : (1UL << s) - 1;
    return f.raw & ~mask & ~0x3ffUL;
}
L4_INLINE L4_Word_t L4_Rights(L4_Fpage_t f) { return f.raw & 7; }
L4_INLINE L4_Fpage_t L4_Set_Rights(L4_Fpage_t *f, L4_Word_t rwx)
{
    f->raw = (f->raw & ~7UL) | (rwx & 7);
    return *f;
}
L4_INLINE L4_Fpage_t L4_FpageAddRights(L4_Fpage_t f, L4_Word_t rwx)
{
    f.raw |= rwx & 7;
    return f;
}
L4_INLINE L4_Fpage_t L4_FpageRemoveRights(L4_Fpage_t f, L4_Word_t rwx)
{
    f.raw &= ~(rwx & 7);
    return f;
}
L4_INLINE L4_Bool_t L4_IsNilFpage(L4_Fpage_t f) { return f.raw == 0; }

#endif /* L4_TYPES_H */

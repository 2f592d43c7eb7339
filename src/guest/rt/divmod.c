/* 64-bit division for 32-bit CPUs without a compiler runtime.  The ARM EABI
 * entry points (__aeabi_uldivmod...) in crt0.S call these.  Shift and
 * subtract: no division operator here, or we would call ourselves. */
typedef unsigned long long u64;
typedef long long s64;

u64 __udivmoddi4(u64 n, u64 d, u64 *rem)
{
    u64 q = 0;
    int shift = 0;
    if (d == 0) {           /* no trap to raise: answer something defined */
        if (rem)
            *rem = n;
        return ~0ULL;
    }
    while ((d << shift) <= n && !((d << shift) >> 63))
        shift++;
    for (; shift >= 0; shift--) {
        if ((d << shift) <= n) {
            n -= d << shift;
            q |= 1ULL << shift;
        }
    }
    if (rem)
        *rem = n;
    return q;
}

s64 __divmoddi4(s64 n, s64 d, s64 *rem)
{
    int neg_q = (n < 0) != (d < 0);
    int neg_r = n < 0;
    u64 r;
    u64 q = __udivmoddi4(n < 0 ? -(u64)n : (u64)n, d < 0 ? -(u64)d : (u64)d, &r);
    if (rem)
        *rem = neg_r ? -(s64)r : (s64)r;
    return neg_q ? -(s64)q : (s64)q;
}

u64 __udivdi3(u64 n, u64 d) { return __udivmoddi4(n, d, 0); }
u64 __umoddi3(u64 n, u64 d) { u64 r; __udivmoddi4(n, d, &r); return r; }
s64 __divdi3(s64 n, s64 d) { return __divmoddi4(n, d, 0); }
s64 __moddi3(s64 n, s64 d) { s64 r; __divmoddi4(n, d, &r); return r; }

/* Sleeps 3 s in one go: SystemClock must move by that much, and the host must
 * not spin meanwhile (the guest waits in its stub's idle loop). */
#include <l4/l4.h>
#include <stdio.h>
int main(void)
{
    L4_Word64_t t0 = L4_SystemClock().raw;
    L4_Sleep(L4_TimePeriod(3000000));
    L4_Word64_t t1 = L4_SystemClock().raw;
    printf("slept %lu ms\n", (unsigned long)((t1 - t0) / 1000));
    return 0;
}

#include <l4/l4.h>
#include <stdio.h>
static L4_Word_t stack[512];
static volatile unsigned long spins;
static void spin(void) { for (;;) spins++; }
int main(void) {
    void *kip = L4_GetKernelInterface();
    L4_ThreadId_t me = L4_Myself(), t = L4_GlobalId(L4_ThreadNo(me) + 1, 1);
    L4_Word_t utcb = L4_MyLocalId().raw + L4_UtcbSize(kip);
    if (L4_ThreadControl(t, me, me, me, (void *)utcb) != 1) return 2;
    L4_Set_Priority(t, 10);
    L4_Start_SpIp(t, (L4_Word_t)&stack[512], (L4_Word_t)spin);
    for (int i = 0; ; i++) {
        unsigned long before = spins;
        L4_Sleep(L4_TimePeriod(100000));
        printf("tick %d spun %s\n", i, spins > before ? "yes" : "no");
    }
    return 0;
}

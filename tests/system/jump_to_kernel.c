#include <l4/l4.h>
#include <stdio.h>
static L4_Word_t stack[512];
static void bad(void) { ((void (*)(void))BP_ADDR)(); }
int main(void) {
    void *kip = L4_GetKernelInterface();
    L4_ThreadId_t me = L4_Myself(), t = L4_GlobalId(L4_ThreadNo(me) + 1, 1);
    L4_Word_t utcb = L4_MyLocalId().raw + L4_UtcbSize(kip);
    if (L4_ThreadControl(t, me, me, me, (void *)utcb) != 1) return 2;
    L4_Start_SpIp(t, (L4_Word_t)&stack[512], (L4_Word_t)bad);
    L4_Sleep(L4_TimePeriod(100000));
    printf("root still alive\n");
    return 0;
}

/* Two equal-priority threads spin in user mode and log every time the CPU
 * changes hands (who, and how far the other got): the interleaving the timer
 * makes. Printed after the root wakes up from a sleep. */
#include <l4/l4.h>
#include <stdio.h>
static L4_Word_t stacks[2][512];
static volatile unsigned long count[2];
static volatile int last = -1, nlog;
static volatile unsigned long logged[16][2];
static void spin(int me)
{
    for (;;) {
        if (last != me) {
            if (nlog < 16) {
                logged[nlog][0] = me;
                logged[nlog][1] = count[1 - me];
                nlog++;
            }
            last = me;
        }
        count[me]++;
    }
}
static void spin0(void) { spin(0); }
static void spin1(void) { spin(1); }
int main(void)
{
    void *kip = L4_GetKernelInterface();
    L4_ThreadId_t me = L4_Myself();
    L4_Word_t utcb = L4_MyLocalId().raw;
    void (*fn[2])(void) = { spin0, spin1 };
    for (int i = 0; i < 2; i++) {
        L4_ThreadId_t t = L4_GlobalId(L4_ThreadNo(me) + 1 + i, 1);
        if (L4_ThreadControl(t, me, me, me, (void *)(utcb + (i + 1) * L4_UtcbSize(kip))) != 1)
            return 2;
        L4_Set_Priority(t, 10);
        L4_Start_SpIp(t, (L4_Word_t)&stacks[i][512], (L4_Word_t)fn[i]);
    }
    L4_Sleep(L4_TimePeriod(100000));
    int n = nlog;
    for (int i = 0; i < n && i < 8; i++)
        printf("switch %d: thread %lu, other at %lu\n", i, logged[i][0], logged[i][1]);
    printf("switches %d, both ran %d\n", n, count[0] > 0 && count[1] > 0);
    return 0;
}

/*
 * The guest half of `l4gdb bench`: a null-syscall loop, then an IPC
 * ping-pong between two threads of the root task. The host times the traps;
 * the guest only has to make them, in phases the host can tell apart by
 * their system-call numbers. `bench_iterations` may be patched by the host.
 */
#include <l4/l4.h>
#include <stdio.h>

volatile L4_Word_t bench_iterations = 2000;

static L4_Word_t server_stack[1024] __attribute__((aligned(16)));

static void server(void)
{
    L4_ThreadId_t from;
    L4_MsgTag_t tag = L4_Wait(&from);
    for (;;) {
        L4_LoadMR(0, 0);
        tag = L4_ReplyWait(from, &from);
        (void)tag;
    }
}

int main(void)
{
    L4_Word_t n = bench_iterations;
    void *kip = L4_GetKernelInterface();
    L4_ThreadId_t me = L4_Myself();
    L4_ThreadId_t srv = L4_GlobalId(L4_ThreadNo(me) + 1, 1);
    L4_Word_t utcb = L4_MyLocalId().raw + L4_UtcbSize(kip);

    printf("bench: null syscall x%lu\n", (unsigned long)n);
    for (L4_Word_t i = 0; i < n + 8; i++)
        (void)L4_SystemClock();

    if (L4_ThreadControl(srv, me, me, me, (void *)utcb) != 1) {
        printf("bench: ThreadControl failed (error %lu)\n", (unsigned long)L4_ErrorCode());
        return 1;
    }
    L4_Start_SpIp(srv, (L4_Word_t)&server_stack[1024], (L4_Word_t)server);

    printf("bench: ipc round trip x%lu\n", (unsigned long)n);
    for (L4_Word_t i = 0; i < n + 8; i++) {
        L4_LoadMR(0, 0);
        L4_MsgTag_t tag = L4_Call(srv);
        if (L4_IpcFailed(tag)) {
            printf("bench: call failed (error %lu)\n", (unsigned long)L4_ErrorCode());
            return 1;
        }
    }
    printf("bench: done\n");
    return 0;
}

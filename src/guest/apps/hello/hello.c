/*
 * hello: the root task starts a second thread in its own address space and
 * the two play ping-pong over IPC.  Output is deterministic: each side
 * prints before it sends, and Call/ReplyWait keeps them in lock step.
 */
#include <l4/l4.h>
#include <stdio.h>

#define ROUNDS      5
#define PONG_LABEL  0x1

static L4_Word_t pong_stack[1024] __attribute__((aligned(16)));

/* Answers each ping with the same number until it is deleted. */
static void __attribute__((noreturn)) pong(void)
{
    L4_ThreadId_t from;
    L4_Word_t n;

    L4_Wait(&from);
    for (;;) {
        L4_StoreMR(1, &n);
        printf("pong %lu\n", n);
        L4_LoadMR(0, L4_MsgTagMake(PONG_LABEL, 1, 0).raw);
        L4_LoadMR(1, n);
        L4_ReplyWait(from, &from);
    }
}

static int ping(L4_ThreadId_t partner)
{
    for (L4_Word_t i = 1; i <= ROUNDS; i++) {
        L4_Word_t answer = 0;
        printf("ping %lu\n", i);
        L4_LoadMR(0, L4_MsgTagMake(PONG_LABEL, 1, 0).raw);
        L4_LoadMR(1, i);
        L4_MsgTag_t tag = L4_Call(partner);
        L4_StoreMR(1, &answer);
        if (L4_IpcFailed(tag) || answer != i) {
            printf("hello: round %lu failed (error code 0x%lx, answer %lu)\n",
                   i, L4_ErrorCode(), answer);
            return 1;
        }
    }
    return 0;
}

int main(void)
{
    void *kip = L4_GetKernelInterface();
    L4_ThreadId_t me = L4_Myself();
    L4_Word_t utcb_size = L4_UtcbSize(kip) ? L4_UtcbSize(kip) : 512;
    /* the next UTCB slot after ours, and the next thread number */
    L4_Word_t utcb = L4_MyLocalId().raw + utcb_size;
    L4_ThreadId_t partner = L4_GlobalId(L4_ThreadNo(me) + 1, 1);

    printf("hello from the root task\n");
    if (!L4_ThreadControl(partner, me, me, me, (void *)utcb)) {
        printf("hello: ThreadControl failed, error %lu\n", L4_ErrorCode());
        return 1;
    }
    L4_Start_SpIp(partner, (L4_Word_t)(pong_stack + 1024), (L4_Word_t)pong);

    int status = ping(partner);
    L4_ThreadControl(partner, L4_nilthread, L4_nilthread, L4_nilthread, (void *)-1);
    printf("hello: %s\n", status ? "failed" : "done");
    return status;
}

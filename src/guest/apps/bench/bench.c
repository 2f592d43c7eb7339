/*
 * The guest half of `l4gdb bench`: a null-syscall loop, then an IPC
 * ping-pong between two threads of the root task, then page faults of a
 * thread in another address space served by a pager thread of ours (when
 * the kernel has page tables: KIP feature "l4gdb-mmu"), then a user-mode spin
 * that only the timer interrupts. The host times the traps;
 * the guest only has to make them, in phases the host can tell apart by
 * their system-call numbers. `bench_iterations` may be patched by the host.
 */
#include <l4/l4.h>
#include <stdio.h>

volatile L4_Word_t bench_iterations = 2000;
volatile L4_Word_t bench_spin = 50000000;     /* user-mode loop: the timer tick's cost */

static L4_Word_t server_stack[1024] __attribute__((aligned(16)));
static L4_Word_t pager_stack[1024] __attribute__((aligned(16)));
static L4_Word_t child_stack[1024] __attribute__((aligned(16)));
static L4_Word_t the_page[1024] __attribute__((aligned(4096)));

#define REGION      0x10000000UL         /* the child's fresh addresses: one fault each */
#define CHILD_UTCB  0x20000000UL
static volatile L4_ThreadId_t child_tid, main_tid;

void child(void);

/* Our pages 1:1 (the child runs our code on our stack); REGION: the_page again
 * and again, one page per faulting address. */
static void pager(void)
{
    L4_ThreadId_t from;
    L4_LoadMR(0, L4_MsgTagMake(0, 2, 0).raw);
    L4_LoadMR(1, (L4_Word_t)child);
    L4_LoadMR(2, (L4_Word_t)&child_stack[1024]);
    L4_Send(child_tid);                 /* the thread start protocol */
    L4_MsgTag_t tag = L4_Wait(&from);
    for (;;) {
        L4_Word_t addr;
        L4_StoreMR(1, &addr);
        L4_Word_t page = addr & ~0xfffUL;
        L4_Fpage_t fp;
        if (page >= REGION && page < CHILD_UTCB) {
            fp = L4_FpageLog2((L4_Word_t)the_page, 12);
        } else {
            (void)*(volatile L4_Word_t *)page;
            fp = L4_FpageLog2(page, 12);
        }
        L4_Set_Rights(&fp, L4_FullyAccessible);
        L4_MapItem_t item = L4_MapItem(fp, page);
        L4_LoadMR(0, L4_MsgTagMake(0, 0, 2).raw);
        L4_LoadMR(1, item.raw[0]);
        L4_LoadMR(2, item.raw[1]);
        tag = L4_ReplyWait(from, &from);
        (void)tag;
    }
}

void child(void)
{
    L4_Word_t n = bench_iterations;
    for (L4_Word_t i = 0; i < n + 8; i++)
        *(volatile L4_Word_t *)(REGION + i * 4096) = i;
    L4_LoadMR(0, 0);
    L4_Send(main_tid);
    for (;;)
        L4_Sleep(L4_Never);
}

static int has_mmu(void *kip)
{
    for (L4_Word_t i = 0; L4_Feature(kip, i); i++) {
        const char *f = L4_Feature(kip, i), *want = "l4gdb-mmu";
        while (*f && *f == *want) {
            f++;
            want++;
        }
        if (*f == 0 && *want == 0)
            return 1;
    }
    return 0;
}

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

    if (has_mmu(kip)) {
        L4_ThreadId_t pg = L4_GlobalId(L4_ThreadNo(me) + 2, 1);
        L4_ThreadId_t ch = L4_GlobalId(L4_ThreadNo(me) + 3, 1);
        L4_Word_t old;
        main_tid = me;
        child_tid = ch;
        if (L4_ThreadControl(pg, me, me, me, (void *)(utcb + L4_UtcbSize(kip))) != 1
            || L4_ThreadControl(ch, ch, me, L4_nilthread, (void *)-1UL) != 1
            || L4_SpaceControl(ch, 0, L4_FpageLog2((L4_Word_t)kip, 12),
                               L4_FpageLog2(CHILD_UTCB, 14), L4_nilthread, &old) != 1
            || L4_ThreadControl(ch, ch, L4_nilthread, pg, (void *)CHILD_UTCB) != 1) {
            printf("bench: space setup failed (error %lu)\n", (unsigned long)L4_ErrorCode());
            return 1;
        }
        printf("bench: pagefault x%lu\n", (unsigned long)n);
        L4_Start_SpIp(pg, (L4_Word_t)&pager_stack[1024], (L4_Word_t)pager);
        L4_Set_PagerOf(pg, L4_Pager());     /* the pager's own faults: sigma0 */
        L4_Receive(ch);
    }
    /* A stretch of pure user-mode work between two ThreadSwitch calls: only
     * the timer's ticks enter the kernel there (tick_overhead_pct). */
    printf("bench: spin x%lu\n", (unsigned long)bench_spin);
    L4_ThreadSwitch(L4_nilthread);
    for (volatile L4_Word_t i = 0; i < bench_spin; i++)
        ;
    L4_ThreadSwitch(L4_nilthread);
    printf("bench: done\n");
    return 0;
}

/* iguana-shared-memory: two PDs share a memsection with different rights (the
 * OKL4 white paper's shared-memory scenario). The writer's PD owns it; it is
 * attached read-only (pd_attach) to the reader's PD. The reader reads what the
 * writer wrote; its write faults, and its pager (Iguana) refuses it and stops
 * the thread. */
#include <iguana/iguana.h>
#include <l4/l4.h>
#include <stdio.h>
#include <string.h>

#define WROTE 0x31
#define READ  0x32
#define AFTER_WRITE 0x33

static L4_ThreadId_t main_tid;
static volatile uintptr_t shared;

static void report(L4_Word_t label, int n, const L4_Word_t *w)
{
    L4_Set_MsgTag(L4_MsgTagMake(label, n, 0));
    for (int i = 0; i < n; i++)
        L4_LoadMR(i + 1, w[i]);
    L4_Send(main_tid);
}

static void writer(void)
{
    strcpy((char *)shared, "hello from the writer");
    report(WROTE, 0, 0);
    for (;;)
        L4_Receive(L4_Myself());
}

static void reader(void)
{
    L4_Word_t words[6];
    memcpy(words, (const void *)shared, sizeof(words));
    report(READ, 6, words);
    ((volatile char *)shared)[0] = 'X';            /* read-only here: faults */
    report(AFTER_WRITE, 0, 0);
    for (;;)
        L4_Receive(L4_Myself());
}

static int wait_for(L4_ThreadId_t t, L4_Word_t label, L4_Word_t *words, int n)
{
    L4_MsgTag_t tag = L4_Receive_Timeout(t, L4_TimePeriod(2000000));
    if (L4_IpcFailed(tag) || L4_Label(tag) != label)
        return 0;
    for (int i = 0; i < n; i++)
        L4_StoreMR(i + 1, &words[i]);
    return 1;
}

int main(void)
{
    main_tid = L4_Myself();
    pd_ref_t wpd = pd_create(), rpd = pd_create();
    uintptr_t base = 0;
    memsection_ref_t ms = pd_create_memsection(wpd, 4096, &base);
    shared = base;
    int attached = pd_attach(rpd, ms, L4_Readable);
    printf("shared-memory: memsection %lx owned by PD %lx (rw), attached to PD %lx (r): %d\n",
           (unsigned long)base, (unsigned long)wpd, (unsigned long)rpd, attached);

    L4_ThreadId_t w = thread_create_in(wpd, writer, 100, 0);
    int ok = !L4_IsNilThread(w) && wait_for(w, WROTE, 0, 0);
    printf("writer: %s\n", ok ? "wrote its message" : "FAILED");

    L4_Word_t words[7] = { 0 };
    L4_ThreadId_t r = thread_create_in(rpd, reader, 100, 0);
    int got = !L4_IsNilThread(r) && wait_for(r, READ, words, 6);
    printf("reader: read \"%s\"\n", got ? (char *)words : "(nothing)");

    L4_Word_t none[1];
    int went_on = wait_for(r, AFTER_WRITE, none, 0);
    thread_ref_t rref = thread_id(r);
    printf("reader: write %s\n", went_on ? "went through" : "faulted: refused by its pager");
    int ok_all = attached == 0 && ok && got && !went_on && rref != 0
                 && strcmp((char *)words, "hello from the writer") == 0;
    pd_delete(rpd);
    pd_delete(wpd);
    printf("shared-memory: %s\n", ok_all ? "OK" : "FAILED");
    return ok_all ? 0 : 1;
}

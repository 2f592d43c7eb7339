/* tcontrol: creating, starting and deleting threads, and the error codes
 * of ThreadControl. */
#include "l4test.h"

#define G "tcontrol"

static volatile int flag;

static void set_flag(void) { flag = 1; }

static void expect_fail(const char *name, L4_Word_t result, L4_Word_t expected_error)
{
    L4_Word_t err = L4_ErrorCode();
    check(G, name, result == 0 && err == expected_error, "result %lu, error %lu, want error %lu",
          result, err, expected_error);
}

static void run_thread(void)
{
    flag = 0;
    L4_ThreadId_t t = thread_spawn(set_flag);
    wait_for(t, flag == 1);
    check(G, "run-thread", flag == 1, "thread did not run");
    check(G, "delete-thread", thread_kill(t) == 1, "error %lu", L4_ErrorCode());

    /* create then start by ExchangeRegisters in two steps */
    flag = 0;
    t = thread_create(set_flag, 1);
    L4_Start_SpIp(t, thread_stack_top(t), thread_entry());
    wait_for(t, flag == 1);
    check(G, "threadcontrol-exreg", flag == 1, "thread did not run");

    /* the UTCB of an active thread cannot move */
    L4_Word_t other_utcb = L4_MyLocalId().raw + 60 * L4_UtcbSize(kip);
    expect_fail("create-existing", L4_ThreadControl(t, main_tid, main_tid, main_tid,
                                                    (void *)other_utcb), L4_ErrUtcbArea);
    thread_kill(t);
}

static void errors(void)
{
    L4_ThreadId_t me = main_tid, nobody = unused_thread_id();
    void *utcb = (void *)(L4_MyLocalId().raw + 61 * L4_UtcbSize(kip));

    expect_fail("delete-self", L4_ThreadControl(me, L4_nilthread, L4_nilthread, L4_nilthread,
                                                (void *)-1), L4_ErrInvalidThread);
    expect_fail("invalid-thread-nil", L4_ThreadControl(L4_nilthread, me, me, me, utcb),
                L4_ErrInvalidThread);
    L4_ThreadId_t system = L4_GlobalId(L4_ThreadIdSystemBase(kip), 1);
    expect_fail("invalid-thread-system", L4_ThreadControl(system, me, me, me, utcb),
                L4_ErrInvalidThread);
    L4_ThreadId_t nobody2 = L4_GlobalId(L4_ThreadNo(nobody) + 1, 1);
    expect_fail("invalid-space", L4_ThreadControl(nobody, nobody2, me, me, utcb),
                L4_ErrInvalidSpace);
    expect_fail("invalid-scheduler", L4_ThreadControl(nobody, me, nobody2, me, utcb),
                L4_ErrInvalidScheduler);
    /* a UTCB outside our UTCB area (below it) */
    void *outside = (void *)(L4_MyLocalId().raw - 0x100000);
    expect_fail("invalid-utcb", L4_ThreadControl(nobody, me, me, me, outside), L4_ErrUtcbArea);
    /* none of those may have left a thread behind */
    L4_Word_t dummy;
    L4_ThreadId_t dummy_id;
    L4_ThreadId_t r = L4_ExchangeRegisters(nobody, 0, 0, 0, 0, 0, L4_nilthread, &dummy,
                                           &dummy, &dummy, &dummy, &dummy, &dummy_id);
    check(G, "failed-create-leaves-nothing", L4_IsNilThread(r), "exreg gave 0x%lx", r.raw);
}

void tcontrol_tests(void)
{
    run_thread();
    errors();
    thread_kill_all();
}

#include "iguana-test.h"

void pd_tests(void)
{
    const char *g = "pd";
    pd_ref_t me = pd_myself();
    check(g, "pd0100-myself", me != 0, "pd_myself = 0");

    pd_ref_t pd = pd_create();
    check(g, "pd0200-create", pd != 0, "pd_create failed: %d", iguana_errno);
    check(g, "pd0201-delete", pd_delete(pd) == 0, "pd_delete failed: %d", iguana_errno);
    int err = pd_delete(pd);
    check(g, "pd0202-delete-invalid", err == IGUANA_ENOENT, "second delete gave %d", err);
    err = pd_delete(me);
    check(g, "pd0203-delete-initial", err == IGUANA_EINVAL, "deleting my own PD gave %d", err);

    pd_ref_t parent = pd_create();
    pd_ref_t child = pd_create_pd(parent);
    check(g, "pd0400-create-pd", parent && child && child != parent,
          "nested pd_create_pd gave %lx/%lx", (unsigned long)parent, (unsigned long)child);
    L4_ThreadId_t tid = L4_nilthread;
    thread_ref_t th = pd_create_thread(child, &tid);
    check(g, "pd0500-create-thread", th != 0 && !L4_IsNilThread(tid),
          "pd_create_thread gave %lx", (unsigned long)th);
    L4_ThreadId_t tid2 = L4_nilthread;
    thread_ref_t th2 = pd_create_thread_with_priority(child, 42, &tid2);
    check(g, "pd0600-create-thread-priority", th2 != 0 && tid2.raw != tid.raw,
          "with priority: %lx", (unsigned long)th2);
    uintptr_t base = 0;
    memsection_ref_t ms = pd_create_memsection(child, 3 * 4096, &base);
    check(g, "pd0700-create-memsection", ms != 0 && base != 0, "ms %lx base %lx",
          (unsigned long)ms, (unsigned long)base);
    /* Deleting the parent takes the child, its threads and memsections along. */
    check(g, "pd0800-delete-nested", pd_delete(parent) == 0, "err %d", iguana_errno);
    err = pd_delete(child);
    check(g, "pd0801-child-gone", err == IGUANA_ENOENT, "child still there: %d", err);
    check(g, "pd0802-thread-gone", L4_IsNilThread(thread_l4tid(th)), "thread survives");
    check(g, "pd0803-memsection-gone", memsection_lookup(base, 0) == 0,
          "memsection survives");
}

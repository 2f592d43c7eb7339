#include "iguana-test.h"

void cap_tests(void)
{
    const char *g = "cap";
    clist_ref_t cl = clist_create();
    check(g, "cap0100-clist-create", cl != 0, "err %d", iguana_errno);
    clist_ref_t cl2 = pd_create_clist(pd_myself());
    check(g, "cap0200-pd-create-clist", cl2 != 0 && cl2 != cl, "err %d", iguana_errno);

    uintptr_t base;
    memsection_ref_t ms = memsection_create(4096, &base);
    cap_t cap = iguana_get_cap(ms, IGUANA_IID_MEMSECTION);
    check(g, "cap0250-get-cap", cap.ref == ms && cap.passwd != 0, "cap %lx", (unsigned long)cap.ref);
    check(g, "cap0300-insert", clist_insert(cl, cap) == 0, "err %d", iguana_errno);
    cap_t back = clist_lookup(cl, ms);
    check(g, "cap0400-lookup", cap_matches(back, cap), "lookup gave %lx", (unsigned long)back.ref);
    check(g, "cap0500-remove", clist_remove(cl, ms) == 0, "err %d", iguana_errno);
    int err = clist_remove(cl, ms);
    check(g, "cap0501-remove-twice", err == IGUANA_ENOENT, "second remove gave %d", err);

    /* Without a capability in any of my clists, the call fails. */
    clist_ref_t def = pd_default_clist();
    clist_remove(def, ms);
    err = memsection_delete(ms);
    check(g, "cap0600-no-cap", err == IGUANA_EPERM, "delete without a cap gave %d", err);
    cap_t wrong = cap;
    wrong.passwd ^= 0x10;
    clist_insert(cl, wrong);
    err = memsection_delete(ms);
    check(g, "cap0601-wrong-password", err == IGUANA_EPERM, "wrong password gave %d", err);
    clist_insert(cl2, cap);
    check(g, "cap0602-cap-in-other-clist", memsection_delete(ms) == 0, "err %d", iguana_errno);
    check(g, "cap0700-clist-delete", clist_delete(cl) == 0 && clist_lookup(cl, ms).ref != ms,
          "err %d", iguana_errno);
}

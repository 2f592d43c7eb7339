#include "iguana-test.h"

static void server_loop(void)
{
    for (;;)
        L4_Receive(L4_Myself());
}

void session_tests(void)
{
    const char *g = "session";
    pd_ref_t pd = pd_create();
    thread_ref_t sref = 0;
    L4_ThreadId_t server = spawn_in(pd, server_loop, 50, &sref);
    uintptr_t base;
    memsection_ref_t obj = memsection_create(4096, &base);
    memsection_register_server(obj, sref);
    L4_ThreadId_t got = L4_nilthread;
    struct session *s = session_create(base + 16, &got);
    check(g, "sess0200-create", s != 0 && got.raw == server.raw && s->clist != 0,
          "session %p server %lx err %d", (void *)s, (unsigned long)got.raw, iguana_errno);
    check(g, "sess0201-clist-usable", s && clist_insert(s->clist, iguana_get_cap(obj, 0)) == 0,
          "err %d", iguana_errno);
    check(g, "sess0202-delete", s && session_delete(s) == 0, "err %d", iguana_errno);
    struct session *self = session_create_with(main_tid);
    check(g, "sess0400-to-self", self != 0, "err %d", iguana_errno);
    if (self) session_delete(self);
    struct session *s2 = session_create_with(server);
    pd_delete(pd);
    int err = s2 ? session_delete(s2) : -1;
    check(g, "sess0500-gone-with-server-pd", err == IGUANA_ENOENT, "delete gave %d", err);
    memsection_delete(obj);
}

#include <iguana/iguana.h>

#define NSESSIONS 16
static struct session sessions[NSESSIONS];

struct session *session_create_with(L4_ThreadId_t server_tid)
{
    struct session *s = 0;
    for (int i = 0; i < NSESSIONS; i++)
        if (sessions[i].ref == 0) { s = &sessions[i]; break; }
    if (s == 0) {
        iguana_errno = IGUANA_ENOMEM;
        return 0;
    }
    L4_Word_t in[3] = { pd_myself(), L4_Myself().raw, server_tid.raw }, out[2];
    if (iguana_call(IGUANA_IID_PD, 5, 3, in, 2, out))
        return 0;
    s->ref = out[0];
    s->clist = out[1];
    return s;
}

struct session *session_create(objref_t object, L4_ThreadId_t *server_tid)
{
    thread_ref_t server;
    if (memsection_lookup(object, &server) == 0 || server == 0)
        return 0;
    L4_ThreadId_t tid = thread_l4tid(server);
    if (server_tid)
        *server_tid = tid;
    return session_create_with(tid);
}

int session_delete(struct session *s)
{
    L4_Word_t in[1] = { s->ref };
    int err = iguana_call(IGUANA_IID_SESSION, 0, 1, in, 0, 0);
    if (err == 0)
        s->ref = s->clist = 0;
    return err;
}

#include <iguana/iguana.h>

#define CL IGUANA_IID_CLIST

clist_ref_t clist_create(void) { return pd_create_clist(pd_myself()); }

int clist_delete(clist_ref_t clist)
{
    L4_Word_t in[1] = { clist };
    return iguana_call(CL, 0, 1, in, 0, 0);
}

/* A capability in IPC: ref, then the password's words (types.h). */
#define CAP_WORDS (1 + IGUANA_PASSWD_WORDS)

/* ENOMEM: the clist is full (the server bounds what a clist holds). */
int clist_insert(clist_ref_t clist, cap_t cap)
{
    L4_Word_t in[1 + CAP_WORDS] = { clist, cap.ref };
    for (int i = 0; i < IGUANA_PASSWD_WORDS; i++)
        in[2 + i] = iguana_passwd_word(cap.passwd, i);
    return iguana_call(CL, 1, 1 + CAP_WORDS, in, 0, 0);
}

cap_t clist_lookup(clist_ref_t clist, objref_t object)
{
    L4_Word_t in[2] = { clist, object }, out[CAP_WORDS];
    if (iguana_call(CL, 2, 2, in, CAP_WORDS, out))
        return INVALID_CAP;
    return (cap_t){ .ref = out[0], .passwd = iguana_passwd_join(&out[1]) };
}

int clist_remove(clist_ref_t clist, objref_t object)
{
    L4_Word_t in[2] = { clist, object };
    return iguana_call(CL, 3, 2, in, 0, 0);
}

cap_t iguana_get_cap(objref_t object, int interface)
{
    (void)interface;
    L4_Word_t in[1] = { object }, out[CAP_WORDS];
    if (iguana_call(CL, 40, 1, in, CAP_WORDS, out))
        return INVALID_CAP;
    return (cap_t){ .ref = out[0], .passwd = iguana_passwd_join(&out[1]) };
}

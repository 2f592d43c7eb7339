/*
 * Handing a memsection to Wombat, the Linux server: it appears to Linux
 * processes as /dev/iguana/NAME (read, write, mmap MAP_SHARED of its frames).
 * Protocol (docs/wombat.md, "Native beside compat"): label WOMBAT_SHARE_LABEL
 * to the server thread (KIP user base + 150); MR1 memsection, then the
 * password of my capability for it (IGUANA_PASSWD_WORDS words, low first),
 * then the rights Linux gets (L4_Readable, L4_Writable), then the name.  The
 * reply label is 0 or an Iguana errno.
 */
#ifndef WOMBAT_SHARE_H
#define WOMBAT_SHARE_H
#include <iguana/iguana.h>
#include <l4/l4.h>

#define WOMBAT_SHARE_LABEL 0x5701
#define WOMBAT_SERVER_OFFSET 150
#define WOMBAT_NAME_WORDS 8

static inline L4_ThreadId_t wombat_server(void)
{
    L4_Word_t v, f, id;
    void *kip = L4_KernelInterface(&v, &f, &id);
    return L4_GlobalId(L4_ThreadIdUserBase(kip) + WOMBAT_SERVER_OFFSET, 1);
}

static inline int wombat_share_cap(cap_t cap, L4_Word_t rights, const char *name)
{
    L4_Word_t words[WOMBAT_NAME_WORDS] = { 0 };
    char *bytes = (char *)words;
    for (unsigned i = 0; name[i] && i < sizeof words - 1; i++)
        bytes[i] = name[i];
    const int pw = IGUANA_PASSWD_WORDS;
    L4_Set_MsgTag(L4_MsgTagMake(WOMBAT_SHARE_LABEL, 2 + pw + WOMBAT_NAME_WORDS, 0));
    L4_LoadMR(1, cap.ref);
    for (int i = 0; i < pw; i++)
        L4_LoadMR(2 + i, iguana_passwd_word(cap.passwd, i));
    L4_LoadMR(2 + pw, rights);
    for (int i = 0; i < WOMBAT_NAME_WORDS; i++)
        L4_LoadMR(3 + pw + i, words[i]);
    L4_MsgTag_t tag = L4_Call(wombat_server());
    if (L4_IpcFailed(tag))
        return -1;
    return (int)L4_Label(tag);
}

/* Share ms with my own capability for it. */
static inline int wombat_share(memsection_ref_t ms, L4_Word_t rights, const char *name)
{
    return wombat_share_cap(iguana_get_cap(ms, 0), rights, name);
}
#endif

/* Iguana object references and capabilities (OKL4 3.0 names), docs/iguana.md. */
#ifndef IGUANA_TYPES_H
#define IGUANA_TYPES_H

#include <l4/l4.h>
#include <stdint.h>

typedef uintptr_t objref_t;
typedef objref_t pd_ref_t;
typedef objref_t memsection_ref_t;
typedef objref_t thread_ref_t;
typedef objref_t session_ref_t;
typedef objref_t clist_ref_t;
typedef objref_t eas_ref_t;
typedef objref_t hw_ref_t;
typedef objref_t physpool_ref_t;
typedef objref_t physmem_ref_t;
typedef objref_t virtpool_ref_t;

/* A password capability. The password has 64 random bits on every arch: in
 * IPC it is IGUANA_PASSWD_WORDS words, low word first (two on 32-bit). */
typedef uint64_t passwd_t;
typedef struct { objref_t ref; passwd_t passwd; } cap_t;
#define INVALID_CAP ((cap_t){ .ref = ~(objref_t)0, .passwd = 0 })
#define IGUANA_PASSWD_WORDS ((int)(sizeof(passwd_t) / sizeof(L4_Word_t)))

/* Word i of a password in IPC, and a password from its words. */
static inline L4_Word_t iguana_passwd_word(passwd_t pw, int i)
{
    return (L4_Word_t)(pw >> (i * 8 * (int)sizeof(L4_Word_t)) % 64);
}
static inline passwd_t iguana_passwd_join(const L4_Word_t *w)
{
    passwd_t pw = 0;
    for (int i = 0; i < IGUANA_PASSWD_WORDS; i++)
        pw |= (passwd_t)w[i] << (i * 8 * (int)sizeof(L4_Word_t)) % 64;
    return pw;
}

/* Interface ids (interface_uuids.h) and the magpie label: 64 * iid + method. */
#define IGUANA_IID_EX          21
#define IGUANA_IID_PD          22
#define IGUANA_IID_EAS         23
#define IGUANA_IID_THREAD      24
#define IGUANA_IID_HARDWARE    25
#define IGUANA_IID_MEMSECTION  26
#define IGUANA_IID_SESSION     27
#define IGUANA_IID_PHYSPOOL    30
#define IGUANA_IID_PHYSMEM     31
#define IGUANA_IID_CLIST       33
#define IGUANA_LABEL(iid, m)   ((iid) * 64 + (m))

/* Reply labels: the errno numbers of OKL4 3.0's C library (libs/c/include/errno.h). */
#define IGUANA_OK      0
#define IGUANA_ENOENT  2   /* no such object */
#define IGUANA_ENOMEM  12
#define IGUANA_EBUSY   16  /* taken: an interrupt another driver has, a page mapped already */
#define IGUANA_EINVAL  22
#define IGUANA_EPERM   33  /* no capability for the object */
#define IGUANA_ENOSYS  38

/* create_memsection flags: at the given base; no backing (OKL4's MEM_USER). */
#define IGUANA_MS_FIXED 0x1
#define IGUANA_MS_USER  0x10
#define IGUANA_EIPC    0x100  /* the IPC itself failed (+ ErrorCode << 8) */

/* The Iguana server: thread UserBase + 1, version 1 (docs/iguana.md). */
L4_ThreadId_t iguana_server(void);

/* One magpie call: label (iid, method), n in-words; up to nout out-words.
 * Returns the reply label (0 = success). */
int iguana_call(int iid, int method, int n, const L4_Word_t *in, int nout, L4_Word_t *out);
/* The error of the last failing library call of this thread's program. */
extern int iguana_errno;

#endif

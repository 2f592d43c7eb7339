#ifndef IGUANA_SESSION_H
#define IGUANA_SESSION_H
#include <iguana/types.h>

struct session { session_ref_t ref; clist_ref_t clist; };

/* A session with the server of the memsection holding object. */
struct session *session_create(objref_t object, L4_ThreadId_t *server_tid);
struct session *session_create_with(L4_ThreadId_t server_tid);
int session_delete(struct session *session);
#endif

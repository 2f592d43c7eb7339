#ifndef IGUANA_CAP_H
#define IGUANA_CAP_H
#include <iguana/types.h>

clist_ref_t clist_create(void);
int clist_delete(clist_ref_t clist);
int clist_insert(clist_ref_t clist, cap_t cap);
cap_t clist_lookup(clist_ref_t clist, objref_t object);
int clist_remove(clist_ref_t clist, objref_t object);
/* A capability for object in one of my PD's clists (INVALID_CAP: none). */
cap_t iguana_get_cap(objref_t object, int interface);
static inline int cap_matches(cap_t a, cap_t b) { return a.ref == b.ref && a.passwd == b.passwd; }
#endif

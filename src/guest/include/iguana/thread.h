#ifndef IGUANA_THREAD_H
#define IGUANA_THREAD_H
#include <iguana/types.h>

thread_ref_t thread_create(L4_ThreadId_t *thrd);
thread_ref_t thread_create_priority(int priority, L4_ThreadId_t *thrd);
int thread_start(thread_ref_t thread, uintptr_t ip, uintptr_t sp);
L4_ThreadId_t thread_l4tid(thread_ref_t thread);
thread_ref_t thread_id(L4_ThreadId_t tid);
thread_ref_t thread_myself(void);
int thread_delete(L4_ThreadId_t tid);
#endif

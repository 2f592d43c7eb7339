/* iguana-test: ports of OKL4 3.0's Iguana tests (libs/iguana/test) for the
 * parts of Iguana l4gdb implements, in the docs/internals.md section 8 format. */
#ifndef IGUANA_TEST_H
#define IGUANA_TEST_H

#include <iguana/iguana.h>
#include <l4/l4.h>
#include <stdio.h>
#include <string.h>

#include <check.h>

void pd_tests(void);
void memsection_tests(void);
void thread_tests(void);
void cap_tests(void);
void session_tests(void);
void eas_tests(void);
void pool_tests(void);
void hardware_tests(void);
void attach_tests(void);

/* Start fn as a new Iguana thread of pd on a fresh memsection stack of pd;
 * returns its L4 id (nil on failure) and its reference in *ref. */
L4_ThreadId_t spawn_in(pd_ref_t pd, void (*fn)(void), int prio, thread_ref_t *ref);
/* Wait (2 s at most) for a message with label from t; 1 = got it. */
int wait_for_label(L4_ThreadId_t t, L4_Word_t label);

extern L4_ThreadId_t main_tid;
extern volatile L4_Word_t shared_flag;

#define STACK_SIZE 4096

#endif

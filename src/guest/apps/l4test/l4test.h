/* l4test: Pistachio's l4test groups that need one address space and no
 * interrupts, reporting in the docs/internals.md section 8 format. */
#ifndef L4TEST_H
#define L4TEST_H

#include <l4/l4.h>
#include <stdio.h>
#include <string.h>

/* ---- reporting (report.c) ---- */
/* PASS group/name, or FAIL group/name: <detail printf-formatted>. */
void check(const char *group, const char *name, int ok, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
void skip(const char *group, const char *name, const char *why);
int summary(void);                      /* prints the totals; 0 = no failure */

/* ---- test threads in the root's own space (threads.c) ---- */
typedef void (*thread_fn)(void);

void threads_init(void);
/* Create (ThreadControl) a thread that will run fn; active = pager is us. */
L4_ThreadId_t thread_create(thread_fn fn, int active);
/* Start a created thread at its function with a fresh stack. */
void thread_start(L4_ThreadId_t t);
L4_ThreadId_t thread_spawn(thread_fn fn);      /* create + start */
L4_Word_t thread_kill(L4_ThreadId_t t);        /* ThreadControl delete */
void thread_kill_all(void);
/* Where a thread of ours would start: its stack top and entry address. */
L4_Word_t thread_stack_top(L4_ThreadId_t t);
L4_Word_t thread_entry(void);
/* A thread id nobody uses. */
L4_ThreadId_t unused_thread_id(void);
/* Block forever (receive from ourselves). */
void park(void) __attribute__((noreturn));

extern L4_ThreadId_t main_tid;          /* the root thread (global id) */
extern void *kip;

static inline L4_Time_t ms(L4_Word_t n) { return L4_TimePeriod((L4_Word64_t)n * 1000); }

/* ---- waiting without timing assumptions ----
 * No check may depend on how fast the host runs the guest.  We run at the
 * highest priority, so a thread of ours makes progress only while we let it:
 * wait_for(t, cond) hands our time to t (ThreadSwitch) until cond holds, so
 * no timer and no preemption is involved when things go right; it gives up
 * after a generous bound of system clock time (the check then fails with
 * what was last seen). */
#define WAIT_LIMIT_US 3000000ULL
#define wait_for(t, cond) ({                                                 \
        L4_Word64_t __end = L4_SystemClock().raw + WAIT_LIMIT_US;            \
        int __ok;                                                            \
        while (!(__ok = !!(cond)) && L4_SystemClock().raw < __end)           \
            L4_ThreadSwitch(t);                                              \
        __ok; })

/* The state Schedule reports for t (L4_SchedResult*), nothing changed. */
L4_Word_t thread_state(L4_ThreadId_t t);
/* Wait until Schedule reports `state` for t; returns the last state seen. */
L4_Word_t wait_state(L4_ThreadId_t t, L4_Word_t state);

/* ---- groups ---- */
void kip_tests(void);
void ipc_tests(void);
void exreg_tests(void);
void tcontrol_tests(void);
void schedule_tests(void);

#endif

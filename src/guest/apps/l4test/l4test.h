/* l4test: Pistachio's l4test groups (no interrupts), reporting in the
 * docs/internals.md section 8 format. */
#ifndef L4TEST_H
#define L4TEST_H

#include <l4/l4.h>
#include <stdio.h>
#include <string.h>

/* ---- reporting: check(), skip(), summary() ---- */
#include <check.h>

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

/* ---- threads in other address spaces (spaces.c) ---- */
#define PAGE_BITS        12
#define PAGE_SIZE        (1UL << PAGE_BITS)
#define SPACE_UTCB       0x20000000UL   /* UTCB area of every test space */
#define SPACE_UTCB_BITS  14
#define FAULT_LOG        32

struct fault_record { L4_Word_t tid, rwx, addr, ip; };
/* Decide a fault: 1 = map the page with *rights, 0 = no reply (the thread stays blocked). */
typedef int (*pager_policy_fn)(L4_Word_t addr, L4_Word_t rwx, L4_Word_t *rights);

extern volatile struct fault_record fault_log[FAULT_LOG];
extern volatile L4_Word_t fault_count;

void spaces_init(void);                         /* starts the pager thread */
L4_ThreadId_t space_pager(void);
/* A thread in a new space (pager as given), not started yet. */
L4_ThreadId_t space_create(thread_fn fn, L4_ThreadId_t pager);
int space_start(L4_ThreadId_t t);               /* the pager sends the start message */
L4_ThreadId_t space_spawn(thread_fn fn);        /* create (pager: ours) + start */
/* Wait (blocked, so the pager and the thread run) for fn to return. */
int space_join(L4_ThreadId_t t, L4_Word_t msec);
void space_kill(L4_ThreadId_t t);
/* Start the pager if needed, forget its log; policy NULL: map everything 1:1, rwx. */
void pager_reset(pager_policy_fn policy);
void pager_stop(void);
int faults_at(L4_Word_t page);                  /* logged faults on that page */

extern int mmu;                                 /* the KIP says "l4gdb-mmu": spaces have page tables */
static inline L4_Word_t page_of(const volatile void *p) { return (L4_Word_t)p & ~(PAGE_SIZE - 1); }

/* A page-aligned buffer of n pages nobody has touched yet. */
#define FRESH_PAGES(name, n) \
    static volatile L4_Word_t name[(n) * PAGE_SIZE / sizeof(L4_Word_t)] \
        __attribute__((aligned(PAGE_SIZE)))

/* ---- groups ---- */
void kip_tests(void);
void ipc_tests(void);
void exreg_tests(void);
void tcontrol_tests(void);
void schedule_tests(void);
void interrupt_tests(void);
void mem_tests(void);
void sigma0_tests(void);
void space_ipc_tests(void);            /* part of ipc_tests */
void string_tests(void);
void pagefault_tests(void);

#endif

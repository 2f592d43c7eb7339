/*
 * hostile: attacks on isolation under Iguana (issue "Hardening", item 2).
 *
 * A victim PD keeps a secret in a memsection of its own and a thread.  An
 * attacker PD, which was given no capability for anything of the victim's,
 * tries to read and write the secret, to read the kernel's memory (the KIP's
 * virtual "reserved" descriptors say where it is), to write the KIP, to take
 * over or delete the victim's thread and space with L4 system calls, to
 * delete or attach the victim's objects through Iguana (also with a guessed,
 * a computed or a revoked capability), to write the victim's UTCB, to map
 * the victim's page to an accomplice by IPC, and to get memory a deleted
 * memsection left from sigma0.  Each
 * attempt is one PASS/FAIL line that names what stopped it; at the end the
 * victim checks its secret.
 *
 * A thread stopped by a fault Iguana refuses sends nothing: a memory attack
 * says "go" right before its one access, and "stopped" is no report within a
 * short time after that (the console also carries Iguana's "fault ...
 * thread stopped" line, which the system test checks).
 */
#include <check.h>
#include <iguana/iguana.h>
#include <l4/l4.h>
#include <stdarg.h>
#include <stdio.h>

#if defined(__has_include)
#if __has_include(<l4/arch/device.h>)
#include <l4/arch/device.h>
#endif
#endif

#define G "hostile"
#define REPORT 0x51
#define SECRET 0x5ec7e7edUL
#define STOP_US 400000           /* no report in this time after "go": stopped */
#define REPLY_US 20000000        /* a report that must come (slow arches, busy hosts) */
#define HANDLE 0x4a4e444cUL

/* The program image is shared by every PD: these are the orders and inputs. */
static L4_ThreadId_t main_tid, victim_tid;
static volatile uintptr_t secret_addr, kernel_addr, kip_addr;
static volatile pd_ref_t victim_pd, attacker_pd;
static volatile memsection_ref_t victim_ms, loan_ms;
static volatile uintptr_t victim_utcb;
static volatile passwd_t loan_passwd;

/* A check whose PASS line is followed by what stopped the attempt. */
static void verdict(const char *name, int ok, const char *fmt, ...)
{
    char detail[240];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(detail, sizeof detail, fmt, ap);
    va_end(ap);
    check(G, name, ok, "%s", detail);
    if (ok)
        printf("  %s\n", detail);
}

static void report(L4_Word_t a, L4_Word_t b, L4_Word_t c, L4_Word_t d)
{
    L4_Set_MsgTag(L4_MsgTagMake(REPORT, 4, 0));
    L4_LoadMR(1, a);
    L4_LoadMR(2, b);
    L4_LoadMR(3, c);
    L4_LoadMR(4, d);
    L4_Send(main_tid);
}

static void __attribute__((noreturn)) idle(void)
{
    for (;;)
        L4_Receive(L4_nilthread);
}

/* The report of thread t (its four words), or 0 when none came in us. */
static int report_within(L4_ThreadId_t t, L4_Word_t *w, L4_Word_t us)
{
    L4_MsgTag_t tag = L4_Receive_Timeout(t, L4_TimePeriod(us));
    if (L4_IpcFailed(tag) || L4_Label(tag) != REPORT)
        return 0;
    for (int i = 0; i < 4; i++)
        L4_StoreMR(i + 1, &w[i]);
    return 1;
}

static int wait_report(L4_ThreadId_t t, L4_Word_t *w) { return report_within(t, w, REPLY_US); }

/* An attack thread says "go" (it runs: its code, stack and UTCB are there)
 * right before its one access, so a missing report after it is the access. */
static void go(void) { report(0, 0, 0, 0); }

/* ---- the victim: keeps its secret, answers "is it still there?" ---- */
static void victim(void)
{
    volatile L4_Word_t *s = (volatile L4_Word_t *)secret_addr;
    s[0] = SECRET;
    s[1] = ~SECRET;
    L4_Set_UserDefinedHandle(HANDLE);
    report(1, (uintptr_t)__L4_Utcb(), L4_UserDefinedHandle(), L4_Pager().raw);
    for (;;) {
        L4_ThreadId_t from;
        L4_MsgTag_t tag = L4_Wait(&from);
        if (L4_IpcSucceeded(tag) && from.raw == main_tid.raw)
            report(s[0], s[1], L4_UserDefinedHandle(), L4_Pager().raw);
    }
}

/* ---- memory attacks: each should stop the thread at its first access ---- */
static void read_secret(void) { go(); report(*(volatile L4_Word_t *)secret_addr, 0, 0, 0); idle(); }
static void write_secret(void)
{
    go();
    *(volatile L4_Word_t *)secret_addr = 0xbad;
    report(0, 0, 0, 0);
    idle();
}
static void read_kernel(void) { go(); report(*(volatile L4_Word_t *)kernel_addr, 0, 0, 0); idle(); }
static void write_kernel(void)
{
    go();
    *(volatile L4_Word_t *)kernel_addr = 0xbad;
    report(0, 0, 0, 0);
    idle();
}
static void write_kip(void)
{
    go();
    *(volatile L4_Word_t *)kip_addr = 0xbad;
    report(0, 0, 0, 0);
    idle();
}

/* The victim's UTCB, at its address: its handle, and its pager (redirected to
 * us, its page faults would come here).  The address is in the UTCB area of
 * our own space too: the write faults or lands in our own space's memory. */
static void write_utcb(void)
{
    volatile L4_Word_t *u = (volatile L4_Word_t *)victim_utcb;
    go();
    u[__L4_TCR_USER_DEFINED_HANDLE] = 0xbad;
    u[__L4_TCR_PAGER] = L4_Myself().raw;
    report(1, 0, 0, 0);
    idle();
}

/* ---- L4 system calls on a thread and a space that are not ours ---- */
static void syscalls(void)
{
    L4_Word_t c, sp, ip, fl, uh, t;
    L4_ThreadId_t pager;
    L4_ThreadId_t r = L4_ExchangeRegisters(victim_tid, 0x6 /* halt + read */, 0, 0, 0, 0,
                                           L4_nilthread, &c, &sp, &ip, &fl, &uh, &pager);
    L4_Word_t e_exregs = L4_IsNilThread(r) ? L4_ErrorCode() : 0x100;
    L4_Word_t ok = L4_ThreadControl(victim_tid, L4_nilthread, L4_nilthread, L4_nilthread,
                                    (void *)-1);
    L4_Word_t e_delete = ok ? 0x100 : L4_ErrorCode();
    ok = L4_SpaceControl(victim_tid, 0, L4_Nilpage, L4_Nilpage, L4_nilthread, &c);
    L4_Word_t e_space = ok ? 0x100 : L4_ErrorCode();
    ok = L4_Schedule(victim_tid, ~0UL, ~0UL, ~0UL, ~0UL, &t);
    L4_Word_t e_sched = ok ? 0x100 : L4_ErrorCode();
    report(e_exregs, e_delete, e_space, e_sched);
    idle();
}

/* ---- Iguana objects of the victim: no capability, then a guessed one ---- */
static void iguana_calls(void)
{
    int del_pd = pd_delete(victim_pd);
    int del_thread = thread_delete(victim_tid);
    int del_ms = memsection_delete(victim_ms);
    int attach = pd_attach(attacker_pd, victim_ms, L4_Readable | L4_Writable);
    report((L4_Word_t)del_pd, (L4_Word_t)del_thread, (L4_Word_t)del_ms, (L4_Word_t)attach);
    int forged = 0;
    for (L4_Word_t guess = 0; guess < 16; guess++) {
        cap_t cap = { .ref = victim_ms, .passwd = guess * 0x1234567 };
        clist_insert(pd_default_clist(), cap);
        if (pd_attach(attacker_pd, victim_ms, L4_Readable) != 33)
            forged++;
    }
    report((L4_Word_t)forged, 0, 0, 0);
    idle();
}

/* The server's passwords computed from one we may read (our own PD's): an LCG
 * would give the next ones away; the victim's memsection was made 2 later. */
static void predicted_caps(void)
{
    cap_t mine = clist_lookup(pd_default_clist(), attacker_pd);
    L4_Word_t forged = 0, tried = 0;
    for (L4_Word_t low = 0; low < 2 && mine.ref == attacker_pd; low++) {
        L4_Word_t seed = mine.passwd ^ low;
        for (int step = 0; step < 8; step++) {
            seed = (seed * 1103515245UL + 12345) & 0x7fffffffUL;
            cap_t cap = { .ref = victim_ms, .passwd = seed | 1 };
            clist_insert(pd_default_clist(), cap);
            tried++;
            if (pd_attach(attacker_pd, victim_ms, L4_Readable) != 33)
                forged++;
        }
    }
    report(forged, tried, 0, 0);
    idle();
}

/* A window of guesses: a clist of our own filled with 1,000 guessed passwords
 * for the victim's memsection, so that one call tries them all.  Inserting
 * is unchecked (Iguana's model); the clist's bound refuses the rest. */
#define WINDOW_GUESSES 1000
static void guess_window(void)
{
    clist_ref_t cl = pd_create_clist(attacker_pd);   /* pd_myself() is the image's */
    L4_Word_t in = 0, full = 0, other = 0;
    for (L4_Word_t g = 1; g <= WINDOW_GUESSES && cl; g++) {
        cap_t cap = { .ref = victim_ms, .passwd = (passwd_t)g * 0x9e3779b97f4a7c15ULL };
        int err = clist_insert(cl, cap);
        if (err == 0)
            in++;
        else if (err == IGUANA_ENOMEM)
            full++;
        else
            other++;
    }
    int attach = pd_attach(attacker_pd, victim_ms, L4_Readable);
    clist_delete(cl);
    report(in, full, other, (L4_Word_t)attach);
    idle();
}

/* The hardware object (interrupts, device memory): with the old LCG its
 * password was always output #5 from a fixed seed.  Try the passwords it
 * would have had, for every reference the first objects get; then try to
 * read a capability for it out of the clists of others (the initial PD's
 * default clist holds it). */
#define OLD_SEED 0x2545F491UL
#define FIRST_REF 0xA0000000UL
#define CANDIDATES 16
static void hardware_guess(void)
{
    clist_ref_t cl = pd_create_clist(attacker_pd);   /* pd_myself() is the image's */
    L4_Word_t in = 0;
    for (int r = 0; r < CANDIDATES && cl; r++) {
        L4_Word_t seed = OLD_SEED;
        for (int k = 0; k < CANDIDATES; k++) {
            seed = (seed * 1103515245UL + 12345) & 0x7fffffffUL;
            cap_t cap = { .ref = FIRST_REF + 0x10 * r, .passwd = seed | 1 };
            in += clist_insert(cl, cap) == 0;
        }
    }
    int irq = hardware_register_interrupt(L4_nilthread, 1);
    clist_delete(cl);
    L4_Word_t read = 0, tried = 0;
    clist_ref_t mine = pd_default_clist();
    for (int r = 0; r < CANDIDATES; r++) {
        if (FIRST_REF + 0x10 * r == mine)
            continue;
        for (int o = 0; o < CANDIDATES; o++) {
            L4_Word_t q[2] = { FIRST_REF + 0x10 * r, FIRST_REF + 0x10 * o }, out[3];
            int err = iguana_call(IGUANA_IID_CLIST, 2, 2, q, 3, out);
            tried++;
            read += err != IGUANA_EPERM && err != IGUANA_ENOENT;
        }
    }
    report(in, (L4_Word_t)irq, read, tried);
    idle();
}

/* A capability we were given, used, then revoked: the memsection deleted and
 * made again at the same address (the same reference, a new password). */
static void revoked_caps(void)
{
    cap_t lent = { .ref = loan_ms, .passwd = loan_passwd };
    clist_insert(pd_default_clist(), lent);
    report((L4_Word_t)pd_attach(attacker_pd, loan_ms, L4_Readable), 0, 0, 0);
    L4_Receive(main_tid);
    report((L4_Word_t)pd_attach(attacker_pd, loan_ms, L4_Readable),
           (L4_Word_t)memsection_delete(loan_ms), 0, 0);
    idle();
}

#ifdef L4_DEVICE_PAGE
/* ---- the device page a driver is given: we hold no hardware capability ---- */
static void touch_device(void)
{
    go();
    report(*(volatile unsigned int *)L4_DEVICE_PAGE, 0, 0, 0);
    idle();
}

static void device_by_request(void)
{
    L4_Fpage_t got = L4_Sigma0_GetPage(L4_nilthread, L4_FpageLog2(L4_DEVICE_PAGE, 12));
    uintptr_t base = 0;
    memsection_ref_t ms = pd_create_memsection_full(attacker_pd, 4096, 0, IGUANA_MS_USER,
                                                    0, 0, &base);
    int backed = ms ? hardware_back_memsection(ms, L4_DEVICE_PAGE, 0) : -1;
    report(got.raw, (L4_Word_t)ms, (L4_Word_t)backed, 0);
    idle();
}
#endif

/* ---- memory a deleted memsection left behind: sigma0's free memory ---- */
#define WINDOW 0x2f000000UL      /* in the virtpool, far above every memsection here */
static void freed_memory(void)
{
    L4_Fpage_t got = L4_Sigma0_GetAny(L4_nilthread, 12, L4_FpageLog2(WINDOW, 12));
    L4_Word_t seen = L4_IsNilFpage(got) ? 0 : *(volatile L4_Word_t *)WINDOW;
    report(got.raw, seen, 0, 0);
    idle();
}

/* ---- a map item for a page the sender was never given ---- */
static L4_ThreadId_t accomplice_tid;
static void accomplice(void)
{
    L4_Accept(L4_MapGrantItems(L4_CompleteAddressSpace));
    L4_ThreadId_t from;
    L4_MsgTag_t tag = L4_Wait(&from);
    report(L4_IpcSucceeded(tag), L4_TypedWords(tag), 0, 0);
    report(*(volatile L4_Word_t *)secret_addr, 0, 0, 0);     /* should fault */
    idle();
}
static void mapper(void)
{
    L4_Fpage_t page = L4_FpageLog2(secret_addr, 12);
    L4_Set_Rights(&page, L4_FullyAccessible);
    L4_MapItem_t item = L4_MapItem(page, secret_addr);
    L4_Set_MsgTag(L4_MsgTagMake(0, 0, 2));
    L4_LoadMR(1, item.raw[0]);
    L4_LoadMR(2, item.raw[1]);
    L4_MsgTag_t tag = L4_Send_Timeout(accomplice_tid, L4_TimePeriod(REPLY_US));
    report(L4_IpcSucceeded(tag), L4_ErrorCode(), 0, 0);
    idle();
}

static L4_ThreadId_t attack(void (*fn)(void))
{
    return thread_create_in(attacker_pd, fn, 100, 0);
}

/* The attack thread must be stopped before it reports anything. */
static void expect_stopped(const char *name, void (*fn)(void), const char *by)
{
    L4_Word_t w[4];
    L4_ThreadId_t t = attack(fn);
    int went = !L4_IsNilThread(t) && wait_report(t, w);
    int reported = went && report_within(t, w, STOP_US);
    verdict(name, went && !reported, "%s (the thread %s)", by,
            !went ? "never started" : reported ? "went on" : "was stopped");
}

/* The virtual areas of a type in the KIP: reserved (2) is the kernel's,
 * dedicated (3) device memory shown to users in every space. */
#define MAX_AREAS 8
static int kip_areas(L4_Word_t type, uintptr_t *low, uintptr_t *high)
{
    void *kip = L4_GetKernelInterface();
    int n = 0;
    for (L4_Word_t i = 0; i < L4_NumMemoryDescriptors(kip) && n < MAX_AREAS; i++) {
        L4_MemoryDesc_t *m = L4_MemoryDesc(kip, i);
        if (L4_IsMemoryDescVirtual(m) && L4_MemoryDescType(m) == type) {
            low[n] = L4_MemoryDescLow(m);
            high[n++] = L4_MemoryDescHigh(m);
        }
    }
    return n;
}

/* The last page of a reserved area outside the dedicated ones (the first pages
 * may hold what the kernel shows users on purpose: ARM's text page with the
 * preemption gate); 0 when the area is all device memory. */
static uintptr_t attack_page(uintptr_t low, uintptr_t high, int n_dev, const uintptr_t *dlow,
                             const uintptr_t *dhigh)
{
    for (uintptr_t p = high & ~0xfffUL;; p -= 0x1000) {
        int device = 0;
        for (int d = 0; d < n_dev; d++)
            device |= dlow[d] <= p && p <= dhigh[d];
        if (!device)
            return p;
        if (p < low + 0x1000)
            return 0;
    }
}

int main(void)
{
    L4_Word_t w[4];
    L4_ThreadId_t t;
    int got;
    main_tid = L4_Myself();
    kip_addr = (uintptr_t)L4_GetKernelInterface();
    uintptr_t rlow[MAX_AREAS], rhigh[MAX_AREAS], dlow[MAX_AREAS], dhigh[MAX_AREAS];
    int n_areas = kip_areas(2, rlow, rhigh), n_dev = kip_areas(3, dlow, dhigh);
    victim_pd = pd_create();
    attacker_pd = pd_create();
    uintptr_t base = 0;
    victim_ms = pd_create_memsection(victim_pd, 4096, &base);
    secret_addr = base;
    victim_tid = thread_create_in(victim_pd, victim, 100, 0);
    int ready = !L4_IsNilThread(victim_tid) && wait_report(victim_tid, w);
    victim_utcb = w[1];
    L4_Word_t victim_pager = w[3];
    verdict("victim-ready", ready && victim_ms != 0, "victim PD %lx, secret at %lx",
          (unsigned long)victim_pd, (unsigned long)secret_addr);
    printf("hostile: victim PD %lx, attacker PD %lx, secret at %lx, %d kernel areas\n",
           (unsigned long)victim_pd, (unsigned long)attacker_pd, (unsigned long)secret_addr,
           n_areas);

    expect_stopped("read-other-pd-memory", read_secret,
                   "the page fault goes to Iguana, which refuses: not attached to its PD");
    expect_stopped("write-other-pd-memory", write_secret, "refused by Iguana likewise");
    static char names[MAX_AREAS][2][32];
    for (int i = 0; i < n_areas; i++) {
        kernel_addr = attack_page(rlow[i], rhigh[i], n_dev, dlow, dhigh);
        snprintf(names[i][0], sizeof names[i][0], "read-kernel-area-%d", i);
        snprintf(names[i][1], sizeof names[i][1], "write-kernel-area-%d", i);
        if (kernel_addr == 0) {
            skip(G, names[i][0], "the whole area is device memory (below)");
            continue;
        }
        expect_stopped(names[i][0], read_kernel,
                       "a reserved area of the KIP: privileged, no user mapping can be there");
        expect_stopped(names[i][1], write_kernel, "likewise");
    }
    if (n_areas == 0)
        skip(G, "kernel-areas", "the KIP describes no reserved virtual area (no MMU)");
    verdict("no-device-memory-in-every-space", n_dev == 0,
            "%d dedicated areas in the KIP (want 0): device memory is mapped per driver, "
            "by sigma0 or Iguana's hardware object, in no space by default", n_dev);
#ifdef L4_DEVICE_PAGE
    expect_stopped("device-page-touch", touch_device,
                   "the device page is mapped in no space but a driver's: the fault goes to "
                   "Iguana, which has no memsection of ours there");
    t = attack(device_by_request);
    got = wait_report(t, w);
    verdict("device-page-from-sigma0", got && w[0] == L4_Nilpage.raw,
            "sigma0 refuses the device page: device memory is Iguana's to hand out");
    verdict("device-page-back-memsection", got && w[1] != 0 && w[2] == 33,
            "hardware_back_memsection of our own user memsection with it: %ld (want EPERM 33, "
            "no hardware capability)", (long)w[2]);
#elif defined(L4_RTC_INDEX)
    skip(G, "device-ports", "x86's RTC ports 0x70/0x71 are open to ring 3 in every space "
         "(the TSS's one I/O bitmap): not yet per driver");
#endif
    expect_stopped("write-kip", write_kip, "the KIP is mapped read-only in every space");

    t = attack(write_utcb);
    int wrote = wait_report(t, w) && report_within(t, w, STOP_US);
    L4_Set_MsgTag(L4_MsgTagMake(0, 0, 0));
    L4_Send_Timeout(victim_tid, L4_TimePeriod(REPLY_US));
    got = wait_report(victim_tid, w);
    verdict("write-other-space-utcb", got && w[2] == HANDLE && w[3] == victim_pager,
          "the victim's UTCB address in the attacker's space is the attacker's own UTCB "
          "area: the write %s; the victim's handle %lx and pager %lx are untouched",
          wrote ? "lands in the attacker's own memory" : "faults and Iguana stops the thread",
          w[2], w[3]);

    t = attack(syscalls);
    got = wait_report(t, w);
    verdict("exregs-other-space", got && w[0] == 2,
          "ExchangeRegisters on a thread of another space: error %lu (want 2, invalid thread)",
          w[0]);
    verdict("threadcontrol-unprivileged", got && w[1] == 1,
          "ThreadControl from an unprivileged space: error %lu (want 1, no privilege)", w[1]);
    verdict("spacecontrol-unprivileged", got && w[2] == 1,
          "SpaceControl from an unprivileged space: error %lu (want 1, no privilege)", w[2]);
    verdict("schedule-not-the-scheduler", got && w[3] == 1,
          "Schedule by a thread that is not the scheduler: error %lu (want 1)", w[3]);

    t = attack(iguana_calls);
    got = wait_report(t, w);
    verdict("iguana-without-capabilities",
          got && w[0] == 33 && w[1] == 33 && w[2] == 33 && w[3] == 33,
          "pd_delete %ld, thread_delete %ld, memsection_delete %ld, pd_attach %ld "
          "(want EPERM 33 each)", (long)w[0], (long)w[1], (long)w[2], (long)w[3]);
    got = wait_report(t, w);
    verdict("iguana-guessed-capabilities", got && w[0] == 0,
          "%lu of 16 guessed passwords opened the victim's memsection", w[0]);
    t = attack(predicted_caps);
    got = wait_report(t, w);
    verdict("iguana-predicted-capabilities", got && w[0] == 0 && w[1] == 16,
          "%lu of %lu passwords computed from the attacker's own opened the victim's "
          "memsection (passwords are a keyed hash, not an LCG)", w[0], w[1]);

    t = attack(guess_window);
    got = wait_report(t, w);
    verdict("iguana-guess-window",
            got && w[0] + w[1] == WINDOW_GUESSES && w[1] > 0 && w[2] == 0 && w[3] == 33,
            "%lu of %d guesses went into one clist, the clist's bound refused %lu (ENOMEM); "
            "pd_attach with them all in place: %ld (want EPERM 33)",
            w[0], WINDOW_GUESSES, w[1], (long)w[3]);
    t = attack(hardware_guess);
    got = wait_report(t, w);
    verdict("iguana-hardware-guessed", got && w[0] > 0 && w[1] == 33 && w[2] == 0 && w[3] > 0,
            "%lu old-LCG passwords for the first %d references inserted: "
            "hardware_register_interrupt %ld (want EPERM 33, passwords are random); "
            "%lu of %lu lookups in others' clists answered (want 0: no cap for those clists)",
            w[0], CANDIDATES, (long)w[1], w[2], w[3]);

    uintptr_t loan_base = 0;
    loan_ms = memsection_create(4096, &loan_base);
    loan_passwd = iguana_get_cap(loan_ms, 0).passwd;
    t = attack(revoked_caps);
    int lent = wait_report(t, w) && w[0] == 0;
    memsection_delete(loan_ms);
    int again = memsection_create_fixed(4096, loan_base) == loan_ms;
    L4_Set_MsgTag(L4_MsgTagMake(0, 0, 0));
    L4_Send_Timeout(t, L4_TimePeriod(REPLY_US));
    got = wait_report(t, w);
    verdict("iguana-revoked-capabilities", lent && again && got && w[0] == 33 && w[1] == 33,
          "a lent capability works (%s), then its memsection is deleted and made again at "
          "the same address: pd_attach %ld, memsection_delete %ld (want EPERM 33)",
          lent ? "pd_attach 0" : "NOT", (long)w[0], (long)w[1]);

    accomplice_tid = attack(accomplice);
    L4_ThreadId_t m = attack(mapper);
    L4_Word_t sent[4] = { 0 }, received[4] = { 0 };
    int s_ok = wait_report(m, sent), r_ok = wait_report(accomplice_tid, received);
    verdict("map-a-page-not-given", s_ok && sent[0] == 1 && r_ok && received[0] == 1,
          "the IPC with the map item goes through (sent %lu, received %lu, typed words %lu) "
          "and maps nothing", sent[0], received[0], received[1]);
    got = report_within(accomplice_tid, w, STOP_US);
    verdict("map-a-page-not-given-no-access", !got,
          "the receiver's read of the address faults and Iguana stops it%s",
          got ? ": it READ the secret" : "");

    /* A memsection of ours with the secret, deleted: its frame goes back to
     * the free memory, the secret still in it. */
    uintptr_t left = 0;
    memsection_ref_t left_ms = memsection_create(4096, &left);
    *(volatile L4_Word_t *)left = SECRET;
    memsection_delete(left_ms);
    t = attack(freed_memory);
    got = wait_report(t, w);
    verdict("sigma0-freed-memory", got && w[0] == L4_Nilpage.raw && w[1] != SECRET,
          "asked for any page, sigma0 gives %s: Iguana took its free memory over, as it "
          "takes all of it at boot (before the fix: the deleted memsection's frame, "
          "the secret in it)", w[1] == SECRET ? "THE SECRET'S FRAME"
          : w[0] == L4_Nilpage.raw ? "nothing" : "a page");

    L4_Set_MsgTag(L4_MsgTagMake(0, 0, 0));
    L4_Send_Timeout(victim_tid, L4_TimePeriod(REPLY_US));
    got = wait_report(victim_tid, w);
    verdict("secret-unchanged", got && w[0] == SECRET && w[1] == ~SECRET,
          "the victim reads %lx %lx", w[0], w[1]);
    verdict("victim-still-runs", got, "the victim's thread answered");
    return summary();
}

/*
 * wombat-shared: the native half of Wombat's "native beside compat" scenario
 * (`l4gdb wombat --native wombat-shared -- /iguana-peer`).  The root task of
 * the system, an Iguana program, makes two memsections and hands them to
 * Wombat, the Linux server: "notice" read-only, "exchange" read-write.  It
 * posts a request in "exchange" (prime numbers it computes), and waits for
 * the Linux process to post the answer in the same page (their sum), which
 * it checks against its own.  A share with a forged capability is refused.
 * Then it waits, like wombat-init, while the Linux programs run.
 */
#include <iguana/iguana.h>
#include <l4/l4.h>
#include <stdio.h>
#include <string.h>
#include <wombat/share.h>
#include <wombat/shared_page.h>

static unsigned next_prime(unsigned after)
{
    for (unsigned n = after + 1;; n++) {
        unsigned d = 2;
        while (d * d <= n && n % d)
            d++;
        if (d * d > n)
            return n;
    }
}

int main(void)
{
    uintptr_t base = 0, notice_base = 0;
    memsection_ref_t ms = memsection_create(4096, &base);
    memsection_ref_t notice = memsection_create(4096, &notice_base);
    if (ms == 0 || notice == 0) {
        printf("wombat-shared: no memsection (%d)\n", iguana_errno);
        return 1;
    }
    snprintf((char *)notice_base, 200, "read-only words from PD %lx",
             (unsigned long)pd_myself());

    /* The request: 5..12 primes, how many depending on where the memsection is. */
    struct shared_page *page = (struct shared_page *)base;
    unsigned count = 5 + (unsigned)((base >> 12) % 8), p = 1, sum = 0;
    int len = snprintf(page->request, SHARED_TEXT, "primes:");
    for (unsigned i = 0; i < count; i++) {
        p = next_prime(p);
        sum += p;
        len += snprintf(page->request + len, SHARED_TEXT - len, " %u", p);
    }
    page->request_len = (unsigned)len;
    page->state = SHARED_REQUEST;

    cap_t forged = iguana_get_cap(ms, 0);
    forged.passwd ^= 0x5a5a;
    int refused = wombat_share_cap(forged, L4_Readable | L4_Writable, "forged");
    int r1 = wombat_share(notice, L4_Readable, "notice");
    int r2 = wombat_share(ms, L4_Readable | L4_Writable, "exchange");
    printf("wombat-shared: shared memsection %lx as /dev/iguana/exchange (%d), %lx as "
           "/dev/iguana/notice (%d); a forged capability: error %d\n",
           (unsigned long)base, r2, (unsigned long)notice_base, r1, refused);

    int i = 0;
    while (page->state != SHARED_ANSWER && i++ < 4000)
        L4_Sleep(L4_TimePeriod(5000));
    char expect[40];
    snprintf(expect, sizeof expect, "sum=%u count=%u", sum, count);
    int got = page->state == SHARED_ANSWER;
    int ok = got && page->answer_len < sizeof expect
             && strncmp(page->answer, expect, page->answer_len) == 0
             && expect[page->answer_len] == 0 && r1 == 0 && r2 == 0 && refused == 33;
    printf("wombat-shared: linux answered '%.*s', expected '%s': %s\n",
           got ? (int)page->answer_len : 0, got ? page->answer : "", expect,
           ok ? "OK" : "FAILED");
    page->state = SHARED_DONE;

    L4_ThreadId_t from;
    for (;;)
        L4_Wait(&from);
    return 0;
}

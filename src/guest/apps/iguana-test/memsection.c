#include "iguana-test.h"

void memsection_tests(void)
{
    const char *g = "memsection";
    uintptr_t base = 0;
    memsection_ref_t ms = memsection_create(4096, &base);
    check(g, "mems0100-create", ms != 0 && base != 0, "ms %lx base %lx",
          (unsigned long)ms, (unsigned long)base);
    check(g, "mems0200-delete", memsection_delete(ms) == 0, "err %d", iguana_errno);
    int err = memsection_delete(ms);
    check(g, "mems0400-delete-invalid", err == IGUANA_ENOENT, "gave %d", err);

    ms = memsection_create(5 * 4096, &base);
    int zero = 1;
    for (uintptr_t *p = (uintptr_t *)base; p < (uintptr_t *)(base + 5 * 4096); p++)
        if (*p) zero = 0;
    check(g, "mems0500-zeroed", ms && zero, "fresh memory not zero");
    memset((void *)base, 0xA5, 5 * 4096);
    memsection_delete(ms);

    ms = memsection_create(5000, &base);
    check(g, "mems1000-size", ms && memsection_size(ms) >= 5000 && memsection_size(ms) % 4096 == 0,
          "size %lu", (unsigned long)memsection_size(ms));
    check(g, "mems1300-base", ms && memsection_base(ms) == (void *)base, "base %p vs %lx",
          memsection_base(ms), (unsigned long)base);
    thread_ref_t server = 1;
    check(g, "mems1200-lookup", memsection_lookup(base + 4100, &server) == ms && server == 0,
          "lookup gave server %lx", (unsigned long)server);
    check(g, "mems1100-register-server",
          memsection_register_server(ms, thread_myself()) == 0
          && memsection_lookup(base + 8, &server) == ms && server == thread_myself(),
          "server %lx", (unsigned long)server);
    memsection_delete(ms);

    uintptr_t fixed = 0x2c000000;
    memsection_ref_t f = memsection_create_fixed(2 * 4096, fixed);
    check(g, "mems0800-create-fixed", f != 0 && memsection_base(f) == (void *)fixed,
          "err %d", iguana_errno);
    for (int i = 0; i < 2 * 4096 / 4; i++)
        ((volatile uint32_t *)fixed)[i] = 0x1000 + i;
    int intact = 1;
    for (int i = 0; i < 2 * 4096 / 4; i++)
        if (((volatile uint32_t *)fixed)[i] != (uint32_t)(0x1000 + i)) intact = 0;
    check(g, "mems0900-fixed-intact", intact, "pattern corrupted");
    check(g, "mems0801-fixed-overlap", memsection_create_fixed(4096, fixed + 4096) == 0
          && iguana_errno == IGUANA_EINVAL, "overlap accepted (%d)", iguana_errno);
    memsection_delete(f);
    f = memsection_create_fixed(4096, fixed);
    check(g, "mems0700-fixed-after-delete", f != 0 && *(volatile uint32_t *)fixed == 0,
          "remap gave %lx", (unsigned long)f);
    memsection_delete(f);
}

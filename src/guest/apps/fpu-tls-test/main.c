/*
 * fpu-tls-test: the per-thread FPU state and thread pointer Linux programs
 * need (docs/internals.md 3.4), checked across many context switches.
 *
 * It needs a host-side helper: tests/system/test_linux_glue.py patches
 * `glue_handler` with the global id of a host thread that is the workers'
 * exception handler.  Each worker asks it, with the arch's Linux system-call
 * instruction (svc #0 / int $0x80 / syscall with v0 >= 4000), to give it a
 * thread pointer (Tcb.tls) and an FPU save area (Tcb.fpu_area: a page of
 * this program's memory, which the helper turns into a kernel address), as
 * the Linux server does for set_tls / set_thread_area and a new process.
 *
 * From then on the workers touch no UTCB: on ARM and MIPS the UTCB pointer
 * register now holds the worker's tls value; the root thread, an ordinary L4
 * thread, checks that its own view (UTCB through %gs:0 / TPIDRURO / k1) is
 * intact afterwards.  Each worker loads every FPU register and the FPU
 * control word with its own pattern, yields many times and checks that the
 * registers still hold it, and reads its thread pointer the Linux way: ARM
 * TPIDRURO, x86 %gs:0 through the GDT entry 6 base, MIPS `rdhwr $29` (emulated
 * by the kernel stub).  On ARM a worker also reads 0xffff0000, where the
 * helper maps the page of `kuser_marker` (the kuser helper page's address).
 */
#include <l4/l4.h>
#include <stdio.h>
#include <string.h>

#define WORKERS   2
#define ROUNDS    40
#define YIELDS    3
#define GLUE_SETUP 1          /* helper call: tls = arg0, FPU area = arg1 (user address) */
#define GLUE_PARK  2          /* helper call: never answered (the worker is done) */

/* Patched by the test before boot with the helper's id (data, not bss: crt0
 * zeroes bss); anythread = no helper. */
volatile L4_Word_t glue_handler = ~0UL;

static L4_Word_t stacks[WORKERS][1024] __attribute__((aligned(16)));
/* One page each, so the helper finds one frame behind it. */
static unsigned char fpu_areas[WORKERS][4096] __attribute__((aligned(4096)));
/* What x86's %gs points at for a worker (Linux: glibc's TCB, self pointer first). */
static L4_Word_t tls_blocks[WORKERS][4] __attribute__((aligned(16)));

#if defined(__arm__)
/* ARM: the helper also maps this page at 0xffff0000 (where the Linux server puts
 * the kuser helper page): user code must be able to own that address. */
#define KUSER_PAGE 0xffff0000UL
#define KUSER_MAGIC 0x6b757365UL
volatile L4_Word_t kuser_marker[1024] __attribute__((aligned(4096))) = { KUSER_MAGIC };
#endif

struct result {
    volatile int done;
    volatile int high_page;       /* ARM: what 0xffff0000 held (1: the marker) */
    volatile int rounds;
    volatile int fpu_bad;         /* rounds whose FPU state came back different */
    volatile int tls_bad;         /* rounds whose thread pointer was wrong */
    volatile L4_Word_t tls_seen;
};
static struct result results[WORKERS];

/* The FPU image: fxsave layout on x86, registers then control word elsewhere. */
struct fpu_image {
    unsigned char b[512];
} __attribute__((aligned(16)));

#if defined(__arm__)
#define CTRL_OFFSET 256               /* d0..d31, FPSCR */
#define IMAGE_BYTES 260
static void fpu_load(const struct fpu_image *img)
{
    __asm__ __volatile__(".fpu neon-vfpv4\n\t"
                         "vldmia %0, {d0-d15}\n\t"
                         "vldmia %1, {d16-d31}\n\t"
                         "ldr r12, [%0, #256]\n\t"
                         "vmsr fpscr, r12"
                         : : "r"(img->b), "r"(img->b + 128) : "r12", "memory");
}
static void fpu_store(struct fpu_image *img)
{
    __asm__ __volatile__(".fpu neon-vfpv4\n\t"
                         "vorr q15, q15, q15\n\t"       /* NEON: undefined if disabled */
                         "vstmia %0, {d0-d15}\n\t"
                         "vstmia %1, {d16-d31}\n\t"
                         "vmrs r12, fpscr\n\t"
                         "str r12, [%0, #256]"
                         : : "r"(img->b), "r"(img->b + 128) : "r12", "memory");
}
static void make_image(struct fpu_image *img, int me)
{
    for (int i = 0; i < 64; i++)
        ((unsigned *)img->b)[i] = 0x40000000u + (me << 20) + i * 0x1111;
    ((unsigned *)img->b)[CTRL_OFFSET / 4] = me ? 3u << 22 : 1u << 22;   /* RMode */
}
static L4_Word_t tls_read(int me)
{
    (void)me;
    L4_Word_t v;
    __asm__ __volatile__("mrc p15, 0, %0, c13, c0, 3" : "=r"(v));
    return v;
}
static L4_Word_t tls_value(int me) { return 0x7e570000 + me * 0x100; }
static void glue_call(L4_Word_t nr, L4_Word_t a0, L4_Word_t a1)
{
    register L4_Word_t r0 __asm__("r0") = a0;
    register L4_Word_t r1 __asm__("r1") = a1;
    register L4_Word_t r7 __asm__("r7") = nr;
    __asm__ __volatile__("svc #0" : "+r"(r0) : "r"(r1), "r"(r7) : "memory");
}
#elif defined(__i386__)
#define IMAGE_BYTES 288
static void fpu_load(const struct fpu_image *img)
{
    __asm__ __volatile__("fxrstor (%0)" : : "r"(img->b) : "memory");
}
static void fpu_store(struct fpu_image *img)
{
    /* an SSE instruction first: #UD unless the kernel set CR4.OSFXSR */
    __asm__ __volatile__("movaps %%xmm7, %%xmm7\n\tfxsave (%0)" : : "r"(img->b) : "memory");
}
static void make_image(struct fpu_image *img, int me)
{
    memset(img->b, 0, sizeof img->b);
    img->b[0] = 0x7f;                                   /* FCW: all masked, */
    img->b[1] = me ? 0x0f : 0x03;                       /* RC differs per thread */
    img->b[4] = 0xff;                                   /* abridged tag: all valid */
    unsigned mxcsr = 0x1f80 | (me ? 0x6000 : 0x2000);  /* MXCSR: RC differs too */
    memcpy(img->b + 24, &mxcsr, 4);
    for (int r = 0; r < 8; r++)                         /* st0..7: 10 bytes each */
        for (int k = 0; k < 10; k++)
            img->b[32 + 16 * r + k] = (unsigned char)(0x11 * r + k + 0x80 * me);
    for (int i = 0; i < 32; i++)                        /* xmm0..7 */
        ((unsigned *)(img->b + 160))[i] = 0x40000000u + (me << 20) + i * 0x1111;
}
static L4_Word_t tls_read(int me)
{
    L4_Word_t self, v;
    __asm__ __volatile__("movl %%gs:0, %0\n\tmovl %%gs:4, %1" : "=r"(self), "=r"(v));
    /* as glibc's TCB, the block starts with its own address: the segment base */
    return self == (L4_Word_t)tls_blocks[me] ? v : 0;
}
static L4_Word_t tls_value(int me) { return 0x7e570000 + me * 0x100; }
static void glue_call(L4_Word_t nr, L4_Word_t a0, L4_Word_t a1)
{
    __asm__ __volatile__("int $0x80" : "+a"(nr) : "b"(a0), "c"(a1) : "memory");
}
#elif defined(__mips__)
#define CTRL_OFFSET 128               /* f0..f31 (FR = 0), FCSR */
#define IMAGE_BYTES 132
#define LINUX_BASE 4000               /* o32: Linux calls are v0 = 4000 + n */
#define FPU_REGS(op, base)                                                  \
    op " $f0, 0(" base ")\n\t" op " $f1, 4(" base ")\n\t"                   \
    op " $f2, 8(" base ")\n\t" op " $f3, 12(" base ")\n\t"                  \
    op " $f4, 16(" base ")\n\t" op " $f5, 20(" base ")\n\t"                 \
    op " $f6, 24(" base ")\n\t" op " $f7, 28(" base ")\n\t"                 \
    op " $f8, 32(" base ")\n\t" op " $f9, 36(" base ")\n\t"                 \
    op " $f10, 40(" base ")\n\t" op " $f11, 44(" base ")\n\t"               \
    op " $f12, 48(" base ")\n\t" op " $f13, 52(" base ")\n\t"               \
    op " $f14, 56(" base ")\n\t" op " $f15, 60(" base ")\n\t"               \
    op " $f16, 64(" base ")\n\t" op " $f17, 68(" base ")\n\t"               \
    op " $f18, 72(" base ")\n\t" op " $f19, 76(" base ")\n\t"               \
    op " $f20, 80(" base ")\n\t" op " $f21, 84(" base ")\n\t"               \
    op " $f22, 88(" base ")\n\t" op " $f23, 92(" base ")\n\t"               \
    op " $f24, 96(" base ")\n\t" op " $f25, 100(" base ")\n\t"              \
    op " $f26, 104(" base ")\n\t" op " $f27, 108(" base ")\n\t"             \
    op " $f28, 112(" base ")\n\t" op " $f29, 116(" base ")\n\t"             \
    op " $f30, 120(" base ")\n\t" op " $f31, 124(" base ")\n\t"
static void fpu_load(const struct fpu_image *img)
{
    __asm__ __volatile__(".set push\n\t.set hardfloat\n\t"
                         FPU_REGS("lwc1", "%0")
                         "lw $8, 128(%0)\n\t"
                         "ctc1 $8, $31\n\t"
                         ".set pop"
                         : : "r"(img->b) : "$8", "memory");
}
static void fpu_store(struct fpu_image *img)
{
    __asm__ __volatile__(".set push\n\t.set hardfloat\n\t"
                         FPU_REGS("swc1", "%0")
                         "cfc1 $8, $31\n\t"
                         "sw $8, 128(%0)\n\t"
                         ".set pop"
                         : : "r"(img->b) : "$8", "memory");
}
static void make_image(struct fpu_image *img, int me)
{
    for (int i = 0; i < 32; i++)
        ((unsigned *)img->b)[i] = 0x40000000u + (me << 20) + i * 0x1111;
    ((unsigned *)img->b)[CTRL_OFFSET / 4] = me ? 3u : 1u;     /* FCSR.RM */
}
static L4_Word_t tls_read(int me)
{
    (void)me;
    L4_Word_t v;
    __asm__ __volatile__(".set push\n\t.set mips32r2\n\t"
                         "rdhwr %0, $29\n\t"
                         ".set pop" : "=r"(v));
    return v;
}
static L4_Word_t tls_value(int me) { return 0x7e570000 + me * 0x100; }
static void glue_call(L4_Word_t nr, L4_Word_t a0, L4_Word_t a1)
{
    register L4_Word_t v0 __asm__("$2") = LINUX_BASE + nr;
    register L4_Word_t a0r __asm__("$4") = a0;
    register L4_Word_t a1r __asm__("$5") = a1;
    __asm__ __volatile__("syscall" : "+r"(v0) : "r"(a0r), "r"(a1r) : "memory");
}
#else
#error "fpu-tls-test: no FPU code for this architecture"
#endif

/* The thread pointer a worker asks for: on x86 the base of its block (whose
 * second word says who it is), elsewhere the value itself. */
static L4_Word_t tls_arg(int me)
{
#if defined(__i386__)
    return (L4_Word_t)tls_blocks[me];
#else
    return tls_value(me);
#endif
}

static void worker(int me)
{
    static struct fpu_image want[WORKERS], ref[WORKERS], got[WORKERS];
    struct result *res = &results[me];

    L4_Set_ExceptionHandler((L4_ThreadId_t){ .raw = glue_handler });
    memset(fpu_areas[me], 0, sizeof fpu_areas[me]);     /* mapped (and fresh) now */
#if defined(__arm__)
    (void)kuser_marker[0];                              /* mapped, for the helper */
#endif
    tls_blocks[me][0] = tls_arg(me);
    tls_blocks[me][1] = tls_value(me);
    glue_call(GLUE_SETUP, tls_arg(me), (L4_Word_t)fpu_areas[me]);
#if defined(__arm__)
    res->high_page = *(volatile L4_Word_t *)KUSER_PAGE == kuser_marker[0];
#else
    res->high_page = 1;
#endif

    make_image(&want[me], me);
    fpu_load(&want[me]);
    fpu_store(&ref[me]);              /* what the CPU keeps of it (reserved bits) */
    for (int round = 0; round < ROUNDS; round++) {
        for (int y = 0; y < YIELDS; y++)
            L4_Yield();
        fpu_store(&got[me]);
        if (memcmp(got[me].b, ref[me].b, IMAGE_BYTES) != 0)
            res->fpu_bad++;
        L4_Word_t tls = tls_read(me);
        res->tls_seen = tls;
        if (tls != tls_value(me))
            res->tls_bad++;
        res->rounds = round + 1;
    }
    res->done = 1;
    glue_call(GLUE_PARK, 0, 0);
    for (;;)
        ;
}

static void worker0(void) { worker(0); }
static void worker1(void) { worker(1); }

int main(void)
{
    void *kip = L4_GetKernelInterface();
    L4_ThreadId_t me = L4_Myself();
    L4_Word_t utcb = L4_MyLocalId().raw;
    void (*fn[WORKERS])(void) = { worker0, worker1 };

    if (glue_handler == L4_anythread.raw) {
        printf("fpu-tls-test: no helper (run it from tests/system/test_linux_glue.py)\n");
        return 1;
    }
    for (int i = 0; i < WORKERS; i++) {
        L4_ThreadId_t t = L4_GlobalId(L4_ThreadNo(me) + 1 + i, 1);
        L4_Word_t u = utcb + (i + 1) * L4_UtcbSize(kip);
        /* the root's pager (sigma0) serves the workers' faults in our space too */
        if (L4_ThreadControl(t, me, me, L4_Pager(), (void *)u) != 1) {
            printf("fpu-tls-test: ThreadControl failed, error %lu\n", L4_ErrorCode());
            return 1;
        }
        /* below the root: the workers' yields hand the CPU to each other */
        L4_Set_Priority(t, 10);
        L4_Start_SpIp(t, (L4_Word_t)&stacks[i][1024], (L4_Word_t)fn[i]);
    }
    for (int naps = 0; naps < 1000; naps++) {
        if (results[0].done && results[1].done)
            break;
        L4_Sleep(L4_TimePeriod(10000));
    }
    int failed = 0;
    for (int i = 0; i < WORKERS; i++) {
        struct result *r = &results[i];
        int ok = r->done && r->rounds == ROUNDS && !r->fpu_bad && !r->tls_bad && r->high_page;
        printf("%s fpu-tls/worker%d rounds %d fpu_bad %d tls_bad %d high_page %d tls %lx\n",
               ok ? "PASS" : "FAIL", i, r->rounds, r->fpu_bad, r->tls_bad, r->high_page,
               r->tls_seen);
        failed += !ok;
    }
    /* The root is an L4 thread: its UTCB pointer must be its own again. */
    int l4_ok = L4_MyGlobalId().raw == me.raw && L4_MyLocalId().raw == utcb;
    printf("%s fpu-tls/l4-view-intact\n", l4_ok ? "PASS" : "FAIL");
    failed += !l4_ok;
    printf("fpu-tls-test: %s\n", failed ? "failed" : "done");
    return failed ? 1 : 0;
}

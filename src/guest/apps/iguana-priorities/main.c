/* iguana-priorities: each subsystem (a PD) uses its own local priorities
 * 0..LEVELS-1; they are mapped into a band of the global (L4) priority space,
 * so every thread of the higher band runs before any of the lower one, and
 * within a band the local order holds (the OKL4 white paper's scenario). */
#include <iguana/iguana.h>
#include <l4/l4.h>
#include <stdio.h>

#define LEVELS 3

struct subsystem { const char *name; int band; pd_ref_t pd; };

static struct subsystem subsystems[2] = { { "A", 100, 0 }, { "B", 50, 0 } };
static volatile int order[2 * LEVELS];
static volatile int ran;
static L4_ThreadId_t tids[2 * LEVELS];

static int global_priority(const struct subsystem *s, int local) { return s->band + local; }

static void runner(void)
{
    L4_ThreadId_t me = L4_Myself();
    for (int i = 0; i < 2 * LEVELS; i++)
        if (tids[i].raw == me.raw)
            order[ran++] = i;
    for (;;)
        L4_Receive(me);
}

int main(void)
{
    ran = 0;
    for (int i = 0; i < 2 * LEVELS; i++)
        order[i] = -1;
    for (int s = 0; s < 2; s++) {
        subsystems[s].pd = pd_create();
        printf("priorities: subsystem %s local 0..%d -> global %d..%d\n", subsystems[s].name,
               LEVELS - 1, global_priority(&subsystems[s], 0),
               global_priority(&subsystems[s], LEVELS - 1));
    }
    /* Create every thread (not started), then start them in a scrambled order:
     * I run at the top priority, so none runs before I sleep. */
    thread_ref_t refs[2 * LEVELS];
    uintptr_t stacks[2 * LEVELS];
    for (int s = 0; s < 2; s++)
        for (int l = 0; l < LEVELS; l++) {
            int i = s * LEVELS + l;
            stacks[i] = 0;
            pd_create_memsection(subsystems[s].pd, IGUANA_STACK_SIZE, &stacks[i]);
            refs[i] = pd_create_thread_with_priority(subsystems[s].pd,
                                                     global_priority(&subsystems[s], l), &tids[i]);
        }
    static const int start[2 * LEVELS] = { 3, 1, 5, 0, 4, 2 };
    for (int k = 0; k < 2 * LEVELS; k++) {
        int i = start[k];
        thread_start(refs[i], (uintptr_t)runner, stacks[i] + IGUANA_STACK_SIZE - 16);
    }
    L4_Sleep(L4_TimePeriod(50000));

    char line[128];
    int pos = 0, ok = ran == 2 * LEVELS;
    for (int k = 0; k < ran; k++) {
        int i = order[k], s = i / LEVELS, l = i % LEVELS;
        pos += snprintf(line + pos, sizeof(line) - pos, "%s%s%d(%d)", k ? " " : "",
                        subsystems[s].name, l, global_priority(&subsystems[s], l));
        int expect = (k < LEVELS ? 0 : 1) * LEVELS + (LEVELS - 1 - k % LEVELS);
        if (i != expect)
            ok = 0;
    }
    printf("run order: %s\n", line);
    for (int s = 0; s < 2; s++)
        pd_delete(subsystems[s].pd);
    printf("priorities: %s\n", ok ? "OK" : "FAILED");
    return ok ? 0 : 1;
}

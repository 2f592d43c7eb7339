/*
 * wombat-init: the root task of a Wombat system.  Iguana is up (this program
 * uses it, so the host starts the Iguana server); the Linux server, a host-side
 * thread beside Iguana, runs the Linux processes.  The root task itself only
 * waits: it prints nothing, so the console carries exactly what the Linux
 * programs write.
 */
#include <l4/l4.h>
#include <iguana/pd.h>

int main(void)
{
    L4_ThreadId_t from;

    (void)pd_myself();
    for (;;)
        L4_Wait(&from);
    return 0;
}

/* l4test: run every group, print the totals, exit 0 only if nothing failed. */
#include "l4test.h"

int main(void)
{
    threads_init();
    spaces_init();
    kip_tests();
    ipc_tests();
    exreg_tests();
    tcontrol_tests();
    mem_tests();
    sigma0_tests();
    string_tests();
    pagefault_tests();
    interrupt_tests();      /* before schedule: it needs the root's priority 255 */
    schedule_tests();       /* last: it changes priorities */
    return summary();
}

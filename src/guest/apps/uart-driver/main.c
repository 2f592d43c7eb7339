/* uart-driver: a user-level driver of the board's UART receiver.  It
 * associates itself with the UART's interrupt thread (ThreadControl), enables
 * the receive interrupt in the device, and blocks in IPC; each interrupt
 * message makes it read the waiting characters from the data register (up to
 * a line's end), and its reply acknowledges the interrupt (the kernel enables
 * the line again).
 * Each received line is printed as "uart-driver: got 'LINE'"; the line "quit"
 * ends it.  Console input reaches the UART (`l4gdb run ... --send 'hello\n'`).
 * Architectures without <l4/arch/device.h>'s UART say so and end. */
#include <l4/l4.h>
#include <stdio.h>
#include <string.h>

#if defined(__has_include)
#if __has_include(<l4/arch/device.h>)
#include <l4/arch/device.h>
#endif
#endif

#ifdef L4_UART_IRQ
#define LINE_MAX 80
/* -1 << 4 in the tag's label field (16 bits wide on 32-bit) */
#define IRQ_LABEL ((L4_Word_t)(-1L << 4) & (~0UL >> 16))

static char line[LINE_MAX + 1];
static unsigned len;

/* The characters that wait, up to the end of a line: a line per interrupt
 * message (the line is level-triggered: if more waits, the interrupt comes
 * again as soon as the ack enabled it). 1 once "quit" came. */
static int drain(void)
{
    int c;
    while ((c = l4_uart_getc()) >= 0) {
        if (c == '\r' || c == '\n') {
            line[len] = 0;
            len = 0;
            printf("uart-driver: got '%s'\n", line);
            return strcmp(line, "quit") == 0;
        } else if (len < LINE_MAX) {
            line[len++] = (char)c;
        }
    }
    return 0;
}

int main(void)
{
    L4_ThreadId_t irq = L4_GlobalId(L4_UART_IRQ, 1);
    if (!l4_uart_map()) {                /* the device page: mapped in no space before */
        printf("uart-driver: sigma0 refused the UART's page at %lx\n", L4_UART_BASE);
        return 1;
    }
    if (!L4_AssociateInterrupt(irq, L4_Myself())) {
        printf("uart-driver: associating interrupt %d failed, error %lu\n", L4_UART_IRQ,
               L4_ErrorCode());
        return 1;
    }
    l4_uart_rx_interrupts(1);
    printf("uart-driver: waiting for interrupt %d\n", L4_UART_IRQ);

    L4_Word_t interrupts = 0;
    int done = 0;
    L4_MsgTag_t tag = L4_Receive(irq);
    for (;;) {
        if (L4_IpcFailed(tag) || L4_Label(tag) != IRQ_LABEL) {
            printf("uart-driver: bad interrupt message: tag %lx, error %lu\n", tag.raw,
                   L4_ErrorCode());
            return 1;
        }
        interrupts++;
        done = drain();
        L4_LoadMR(0, 0);
        if (done)
            break;
        tag = L4_Call(irq);        /* the ack enables the line; then wait for the next */
    }
    L4_Send(irq);                  /* the last ack */
    l4_uart_rx_interrupts(0);
    L4_DeassociateInterrupt(irq);
    printf("uart-driver: done after %lu interrupts\n", interrupts);
    return 0;
}
#else
int main(void)
{
    printf("uart-driver: no user-level UART on this architecture\n");
    return 0;
}
#endif

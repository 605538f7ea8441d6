/* Driver for UART0 of QEMU mps2-an386 (ARM CMSDK APB UART at 0x40004000), polled: no interrupts, no FIFO (the
 * CMSDK UART holds one byte each way). QEMU connects it to a TCP socket (-serial tcp:HOST:PORT,nodelay=on). */
#include <stdint.h>
#define UART0_BASE 0x40004000u
#define UART_DATA (*(volatile uint32_t *)(UART0_BASE + 0x00))
#define UART_STATE (*(volatile uint32_t *)(UART0_BASE + 0x04))
#define UART_CTRL (*(volatile uint32_t *)(UART0_BASE + 0x08))
#define UART_BAUDDIV (*(volatile uint32_t *)(UART0_BASE + 0x10))
#define STATE_TX_FULL 1u
#define STATE_RX_FULL 2u

void uart_init(void) {
    UART_BAUDDIV = 16; /* the smallest divider the CMSDK UART accepts; QEMU does not pace the bytes by it */
    UART_CTRL = 3;     /* transmitter and receiver on */
}
/* Copies the bytes waiting (at most `capacity`) into `into` without waiting; returns how many. */
int32_t uart_receive(uint8_t *into, int32_t capacity) {
    int32_t count = 0;
    while (count < capacity && (UART_STATE & STATE_RX_FULL)) into[count++] = (uint8_t)UART_DATA;
    return count;
}
/* Sends every byte, waiting while the transmit register is full. */
void uart_send(const uint8_t *bytes, int32_t count) {
    for (int32_t i = 0; i < count; i++) {
        while (UART_STATE & STATE_TX_FULL) {}
        UART_DATA = bytes[i];
    }
}

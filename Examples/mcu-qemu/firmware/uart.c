/* Drivers for UART0 (the gateway link) and UART1 (the application's queries) of QEMU mps2-an386 (ARM CMSDK APB UART at
 * 0x40004000 and 0x40005000), polled: no interrupts, no FIFO (the CMSDK UART holds one byte each way). QEMU connects
 * UART0 to a TCP socket (-serial tcp:HOST:PORT,nodelay=on). */
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

/* UART1 (0x40005000): the application's channel, where the firmware takes its queries (main.swift; QEMU connects it
 * with a second -serial). Same registers as UART0. */
#define UART1_BASE 0x40005000u
#define UART1_DATA (*(volatile uint32_t *)(UART1_BASE + 0x00))
#define UART1_STATE (*(volatile uint32_t *)(UART1_BASE + 0x04))
#define UART1_CTRL (*(volatile uint32_t *)(UART1_BASE + 0x08))
#define UART1_BAUDDIV (*(volatile uint32_t *)(UART1_BASE + 0x10))

void app_uart_init(void) {
    UART1_BAUDDIV = 16;
    UART1_CTRL = 3;
}
/* The next byte received, or -1 when none is waiting. */
int32_t app_uart_read(void) { return (UART1_STATE & STATE_RX_FULL) ? (int32_t)(UART1_DATA & 0xFF) : -1; }
/* Sends one byte, or drops it while the transmitter is busy: the application's channel never stalls the leaf. */
void app_uart_write(uint8_t byte) {
    if (!(UART1_STATE & STATE_TX_FULL)) UART1_DATA = byte;
}

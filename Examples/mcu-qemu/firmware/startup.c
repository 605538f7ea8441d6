/* Bare-metal start-up for the TinyFleet leaf firmware on QEMU mps2-an386 (Cortex-M4): vector table with SysTick,
 * .data/.bss set-up, a 1 ms SysTick clock, semihosting (console output, the host's arguments, exit), stack painting
 * for the high-water mark, and a bump allocator for the Swift runtime's start-up allocations. main.swift is the
 * firmware's logic; uart.c the UART driver. */
#include <stdint.h>
#include <string.h>
extern uint32_t _estack, _sidata, _sdata, _edata, _sbss, _ebss, _stack_bottom, _heap_start, _heap_end;
extern int leaf_main(void);
void Reset_Handler(void);
void SysTick_Handler(void);
void put(const char *s);
void put_u32(uint32_t v);
void semihost_exit(int32_t status);
/* A fault (a Swift trap is an undefined instruction) prints the faulting address and stops QEMU with status 4. */
void fault_report(uint32_t *frame) {
    put("firmware: fault at pc 0x"); char hex[9]; uint32_t pc = frame[6];
    for (int i = 7; i >= 0; i--) { hex[i] = "0123456789abcdef"[pc & 15]; pc >>= 4; } hex[8] = 0; put(hex); put("\n");
    semihost_exit(4);
}
__attribute__((naked)) static void Default_Handler(void) { __asm__ volatile("mrs r0, msp\n b fault_report\n"); }
__attribute__((section(".isr_vector"), used)) const void *vectors[16] = {
    &_estack, Reset_Handler, Default_Handler, Default_Handler, Default_Handler, Default_Handler, Default_Handler,
    0, 0, 0, 0, Default_Handler, Default_Handler, 0, Default_Handler, SysTick_Handler,
};

int semihost(int op, const void *arg) {
    register int r0 __asm__("r0") = op; register const void *r1 __asm__("r1") = arg;
    __asm__ volatile("bkpt 0xab" : "+r"(r0) : "r"(r1) : "memory");
    return r0;
}
/* Prints a NUL-terminated line on the host's console (semihosting SYS_WRITE0). */
void put(const char *s) { semihost(0x04, s); }
/* Prints `count` bytes (not NUL-terminated), in pieces of at most 127. */
void put_bytes(const uint8_t *bytes, int32_t count) {
    char buf[128];
    while (count > 0) {
        int n = count < 127 ? count : 127;
        memcpy(buf, bytes, n); buf[n] = 0; put(buf);
        bytes += n; count -= n;
    }
}
void put_u32(uint32_t v) {
    char digits[12]; int n = 0; char buf[12]; int i = 0;
    do { digits[n++] = '0' + v % 10; v /= 10; } while (v);
    while (n) buf[i++] = digits[--n];
    buf[i] = 0; put(buf);
}
void semihost_exit(int32_t status) {
    uint32_t block[2] = { 0x20026, (uint32_t)status };
    semihost(0x20, block);
    for (;;) {}
}
/* The host's command line (semihosting SYS_GET_CMDLINE: QEMU's "-kernel FILE -append ARGS" gives "FILE ARGS");
 * copies word `index` (0 is the firmware's file) into `into` and returns its length, or -1. The line is read into
 * this call's frame, not a static: it is read at start-up only, under shallow frames, so it costs no RAM after. */
int32_t host_argument(int32_t index, uint8_t *into, int32_t capacity) {
    char line[256];
    uint32_t block[2] = { (uint32_t)line, sizeof line - 1 };
    if (semihost(0x15, block) != 0) return -1;
    line[block[1] < sizeof line ? block[1] : sizeof line - 1] = 0;
    const char *p = line;
    for (int32_t word = 0;; word++) {
        while (*p == ' ') p++;
        if (!*p) return -1;
        const char *start = p;
        while (*p && *p != ' ') p++;
        if (word == index) {
            int32_t n = (int32_t)(p - start);
            if (n > capacity) return -1;
            memcpy(into, start, n);
            return n;
        }
    }
}

/* SysTick every millisecond from the 25 MHz processor clock of mps2-an386. */
static volatile uint32_t milliseconds;
void SysTick_Handler(void) { milliseconds++; }
uint64_t clock_milliseconds(void) { return milliseconds; }
#define SYST_CSR (*(volatile uint32_t *)0xE000E010)
#define SYST_RVR (*(volatile uint32_t *)0xE000E014)
#define SYST_CVR (*(volatile uint32_t *)0xE000E018)
static void clock_start(void) { SYST_RVR = 25000 - 1; SYST_CVR = 0; SYST_CSR = 7; /* processor clock, interrupt, on */ }

/* The stack below the frame of Reset_Handler is painted; stack_used tells how deep it was used since. */
static void stack_paint(void) {
    uint32_t *p = &_stack_bottom; uint32_t *sp; __asm__ volatile("mov %0, sp" : "=r"(sp));
    while (p < sp - 16) *p++ = 0xA5A5A5A5u;
}
/* Paints the stack again below the caller's frame: stack_used then tells the deepest use since this call (the
 * MCU_QEMU_SLOTS=1MiB firmware calls it after each mark it prints, so that an install's mark is its own). */
void stack_repaint(void) { stack_paint(); }
uint32_t stack_used(void) {
    uint32_t *p = &_stack_bottom; while (*p == 0xA5A5A5A5u) p++;
    return (uint32_t)((char *)&_estack - (char *)p);
}

/* The Swift runtime's allocations (start-up buffers, the digit row): a bump allocator over the linker script's
 * heap that never frees. heap_used() tells how much was taken; running out stops the firmware with status 3. */
static uint8_t *heap_next = (uint8_t *)&_heap_start;
int posix_memalign(void **out, size_t alignment, size_t size) {
    if (alignment < 8) alignment = 8;
    uintptr_t p = ((uintptr_t)heap_next + alignment - 1) & ~(uintptr_t)(alignment - 1);
    if (p + size > (uintptr_t)&_heap_end) { put("firmware: out of heap"); semihost_exit(3); }
    heap_next = (uint8_t *)(p + size);
    *out = (void *)p;
    return 0;
}
void free(void *p) { (void)p; }
uint32_t heap_used(void) { return (uint32_t)(heap_next - (uint8_t *)&_heap_start); }

void Reset_Handler(void) {
    memcpy(&_sdata, &_sidata, (char *)&_edata - (char *)&_sdata);
    memset(&_sbss, 0, (char *)&_ebss - (char *)&_sbss);
    stack_paint();
    clock_start();
    semihost_exit(leaf_main());
}

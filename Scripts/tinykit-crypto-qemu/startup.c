/* Bare-metal start-up for the crypto measurement firmware on QEMU mps2-an386 (Cortex-M4): vector table, .data/.bss
 * set-up, semihosting output and exit, SysTick timing, stack painting. Not the kit's firmware (Examples/mcu-qemu). */
#include <stdint.h>
#include <string.h>
extern uint32_t _estack, _sidata, _sdata, _edata, _sbss, _ebss, _stack_bottom;
extern int crypto_bench(void);
void Reset_Handler(void);
__attribute__((section(".isr_vector"), used)) const void *vectors[] = { &_estack, Reset_Handler };

static int semihost(int op, const void *arg) {
    register int r0 __asm__("r0") = op; register const void *r1 __asm__("r1") = arg;
    __asm__ volatile("bkpt 0xab" : "+r"(r0) : "r"(r1) : "memory");
    return r0;
}
void put(const char *s) { semihost(0x04, s); }
void put_u32(const char *label, uint32_t v) {
    char buf[64]; char digits[12]; int n = 0; do { digits[n++] = '0' + v % 10; v /= 10; } while (v);
    int i = 0; while (*label) buf[i++] = *label++; while (n) buf[i++] = digits[--n]; buf[i++] = '\n'; buf[i] = 0; put(buf);
}
#define SYST_CSR (*(volatile uint32_t *)0xE000E010)
#define SYST_RVR (*(volatile uint32_t *)0xE000E014)
#define SYST_CVR (*(volatile uint32_t *)0xE000E018)
void timer_start(void) { SYST_RVR = 0xFFFFFF; SYST_CVR = 0; SYST_CSR = 5; }
uint32_t timer_ticks(void) { return 0xFFFFFF - SYST_CVR; }
/* Paints the unused stack below the caller's frame, and finds how deep it was used. */
void stack_paint(void) { uint32_t *p = &_stack_bottom; uint32_t *sp; __asm__ volatile("mov %0, sp" : "=r"(sp)); while (p < sp - 16) *p++ = 0xA5A5A5A5u; }
uint32_t stack_used(void) { uint32_t *p = &_stack_bottom; while (*p == 0xA5A5A5A5u) p++; return (uint32_t)((char *)&_estack - (char *)p); }
void Reset_Handler(void) {
    memcpy(&_sdata, &_sidata, (char *)&_edata - (char *)&_sdata);
    memset(&_sbss, 0, (char *)&_ebss - (char *)&_sbss);
    int status = crypto_bench();
    uint32_t exit_block[2] = { 0x20026, (uint32_t)status };
    semihost(0x20, exit_block);
    for (;;) {}
}
/* The crypto allocates nothing: allocation fails, which would trap. */
int posix_memalign(void **p, size_t a, size_t s) { (void)p; (void)a; (void)s; return 12; }
void free(void *p) { (void)p; }
/* 1,000,000 iterations of two instructions. */
__attribute__((naked)) void calibrate(void) {
    __asm__ volatile("ldr r0, =1000000\n1: subs r0, #1\n bne 1b\n bx lr\n");
}

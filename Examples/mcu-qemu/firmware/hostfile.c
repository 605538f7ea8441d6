/* TEST ONLY: persistence under QEMU. The leaf's flash and key storage are backed by a file on the host, reached
 * through Arm semihosting file operations (QEMU -semihosting-config enable=on,target=native): each operation is
 * one host read() or write() at an offset, so a `kill -9` of QEMU leaves every write done or not done. A real board
 * has flash; HostFileFlash.swift (main.swift's platform) says what is emulated. Also: instruction counts from
 * SysTick for the cycle figures (QEMU -icount). */
#include <stdint.h>
#include <string.h>
int semihost(int op, const void *arg);
enum { SYS_OPEN = 0x01, SYS_CLOSE = 0x02, SYS_WRITE = 0x05, SYS_READ = 0x06, SYS_SEEK = 0x0A, SYS_FLEN = 0x0C };

/* Opens the file at `path` (`length` bytes, not NUL-terminated) for reading and writing, creating it when missing.
 * Returns a handle, or -1. The NUL-terminated copy of the name is in this call's frame (start-up only), not a
 * static. */
int32_t host_file_open(const uint8_t *path, int32_t length) {
    char name[256];
    if (length <= 0 || length >= (int32_t)sizeof name) return -1;
    memcpy(name, path, length);
    name[length] = 0;
    for (uint32_t mode = 3 /* r+b */; mode <= 7 /* w+b */; mode += 4) {
        uint32_t block[3] = { (uint32_t)name, mode, (uint32_t)length };
        int handle = semihost(SYS_OPEN, block);
        if (handle != -1) return handle;
    }
    return -1;
}

/* The file's length in bytes, or -1. */
int32_t host_file_length(int32_t handle) {
    uint32_t block[1] = { (uint32_t)handle };
    return semihost(SYS_FLEN, block);
}

static int seek(int32_t handle, int32_t offset) {
    uint32_t block[2] = { (uint32_t)handle, (uint32_t)offset };
    return semihost(SYS_SEEK, block) == 0;
}

/* Reads up to `count` bytes at `offset`; returns how many were read (fewer at the end of the file), or -1. */
int32_t host_file_read(int32_t handle, int32_t offset, uint8_t *into, int32_t count) {
    if (!seek(handle, offset)) return -1;
    uint32_t block[3] = { (uint32_t)handle, (uint32_t)into, (uint32_t)count };
    int left = semihost(SYS_READ, block);
    return left < 0 || left > count ? -1 : count - left;
}

/* Writes `count` bytes at `offset` with one host write(); returns 1 when all were written, else 0. */
int32_t host_file_write(int32_t handle, int32_t offset, const uint8_t *bytes, int32_t count) {
    if (!seek(handle, offset)) return 0;
    uint32_t block[3] = { (uint32_t)handle, (uint32_t)bytes, (uint32_t)count };
    return semihost(SYS_WRITE, block) == 0;
}

/* SysTick ticks since start-up (startup.c runs it at 25,000 ticks per millisecond interrupt). Under QEMU -icount a
 * tick is a fixed number of instructions: instruction_ticks_per_million() measures it. */
extern uint64_t clock_milliseconds(void);
#define SYST_CVR (*(volatile uint32_t *)0xE000E018)
uint64_t clock_ticks(void) {
    for (;;) {
        uint64_t before = clock_milliseconds();
        uint32_t current = SYST_CVR;
        if (clock_milliseconds() == before) return before * 25000 + (24999 - current);
    }
}
/* 1,000,000 iterations of two instructions. */
__attribute__((naked)) static void two_million_instructions(void) {
    __asm__ volatile("ldr r0, =1000000\n1: subs r0, #1\n bne 1b\n bx lr\n");
}
/* SysTick ticks per 1,000,000 instructions, measured over a loop of known length. */
uint32_t ticks_per_million_instructions(void) {
    uint64_t start = clock_ticks();
    two_million_instructions();
    return (uint32_t)((clock_ticks() - start) / 2);
}

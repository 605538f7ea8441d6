/* The TinyFleet leaf firmware for QEMU mps2-an386 (Cortex-M4) written in C: FleetTinyKit through tinyfleet.h, the
 * C twin of firmware/main.swift for the run.sh recipe (`MCU_QEMU_FIRMWARE=c Examples/mcu-qemu/run.sh`). Its
 * platform is UART0 as the transport, the SysTick clock, and flash and key storage in RAM mirrored to a host file
 * when one is given, as firmware/HostFileFlash.swift lays them out; startup.c, uart.c and hostfile.c are shared with
 * the Swift firmware. After each install it classifies the baked-in digit row with tinyfleet_predict. As the Swift
 * firmware, it meters the application's queries (a `q` byte each on UART1) with the kit's meter, within the quota
 * grants the coordinator signs for it (`MCU_QEMU_FIRMWARE=c Examples/mcu-qemu/metering.sh`). Console lines go out
 * over semihosting. */
#include "tinyfleet.h"

#include <stddef.h>
#include <stdint.h>
#include <string.h>

extern void put(const char *line);
extern void put_u32(uint32_t value);
extern void put_bytes(const uint8_t *bytes, int32_t count);
extern int32_t host_argument(int32_t index, uint8_t *into, int32_t capacity);
extern uint64_t clock_milliseconds(void);
extern uint32_t stack_used(void);
extern uint32_t heap_used(void);
extern int posix_memalign(void **out, size_t alignment, size_t size);
extern void uart_init(void);
extern int32_t uart_receive(uint8_t *into, int32_t capacity);
extern void uart_send(const uint8_t *bytes, int32_t count);
extern void app_uart_init(void);
extern int32_t app_uart_read(void);
extern void app_uart_write(uint8_t byte);
extern int32_t host_file_open(const uint8_t *path, int32_t length);
extern int32_t host_file_length(int32_t handle);
extern int32_t host_file_read(int32_t handle, int32_t offset, uint8_t *into, int32_t count);
extern int32_t host_file_write(int32_t handle, int32_t offset, const uint8_t *bytes, int32_t count);
extern uint8_t _model_flash[]; /* the linker script places it (link.ld) */

/* The emulated flash, as HostFileFlash.swift's Layout: 4 KiB pages, two record pages and two slots of 32 pages,
 * then one page of key storage (one 128-byte entry per record: a written byte, then the record), then the meter's
 * records (0: counters and ledger, 1 and 2: a grant each), one TEAR_UNIT piece each: a written byte, the length (2
 * bytes, little-endian), the bytes. */
#define PAGE_SIZE 4096
#define PAGE_COUNT (2 + 2 * 32)
#define FLASH_BYTES (PAGE_COUNT * PAGE_SIZE)
#define RECORD_STRIDE 128
#define TEAR_UNIT 1024
#define METER_GRANTS 2 /* two grant slots: a new grant is kept while the last one still answers */
#define METER_RECORD_STRIDE TEAR_UNIT
#define METER_RECORDS_OFFSET (FLASH_BYTES + PAGE_SIZE)
#define TOTAL_BYTES (METER_RECORDS_OFFSET + (1 + METER_GRANTS) * METER_RECORD_STRIDE)
#define RECEIVE_BYTES (4 + 16 * 1024)
#define SEND_BYTES 2048

static uint8_t *const flash = _model_flash;
/* The semihosting handle of the host file, or -1: RAM only. */
static int32_t flash_file = -1;
/* TEST ONLY: mps2-an386 has no TRNG. The random bytes come from a splitmix64 generator over the 32-byte seed the host
 * passes (run.sh takes it from /dev/urandom); a real board reads its TRNG. */
static uint64_t random_state;

/* Writes flash[offset, offset + count) to the host file in aligned pieces of at most TEAR_UNIT (one write each). */
static bool save(uint32_t offset, uint32_t count) {
    if (flash_file < 0) return true;
    uint32_t end = offset + count;
    while (offset < end) {
        uint32_t piece_end = (offset / TEAR_UNIT + 1) * TEAR_UNIT;
        if (piece_end > end) piece_end = end;
        if (host_file_write(flash_file, (int32_t)offset, flash + offset, (int32_t)(piece_end - offset)) != 1) {
            return false;
        }
        offset = piece_end;
    }
    return true;
}

static bool uart_connect(void *context) { (void)context; return true; }
static void uart_disconnect(void *context) { (void)context; }
static int32_t uart_read(void *context, uint8_t *buffer, uint32_t capacity) {
    (void)context;
    return uart_receive(buffer, (int32_t)capacity);
}
static bool uart_write(void *context, const uint8_t *bytes, uint32_t count) {
    (void)context;
    uart_send(bytes, (int32_t)count);
    return true;
}
static uint64_t milliseconds(void *context) { (void)context; return clock_milliseconds(); }
static bool test_random(void *context, uint8_t *buffer, uint32_t count) {
    (void)context;
    for (uint32_t index = 0; index < count; index++) {
        uint64_t z = (random_state += 0x9E3779B97F4A7C15ull);
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
        buffer[index] = (uint8_t)(z ^ (z >> 31));
    }
    return true;
}
static uint8_t *record_entry(uint32_t record) { return flash + FLASH_BYTES + record * RECORD_STRIDE; }
static bool load_record(void *context, uint32_t record, uint8_t *buffer, uint32_t size) {
    (void)context;
    if (record > 4 || size >= RECORD_STRIDE || record_entry(record)[0] != 1) return false;
    memcpy(buffer, record_entry(record) + 1, size);
    return true;
}
static bool store_record(void *context, uint32_t record, const uint8_t *bytes, uint32_t size) {
    (void)context;
    if (record > 4 || size >= RECORD_STRIDE) return false;
    memcpy(record_entry(record) + 1, bytes, size);
    record_entry(record)[0] = 1;
    return save((uint32_t)(record_entry(record) - flash), RECORD_STRIDE);
}
/* The meter's record `index`, each saved with one host write (the old bytes or the new after a kill -9). */
static uint8_t *meter_entry(uint32_t index) { return flash + METER_RECORDS_OFFSET + index * METER_RECORD_STRIDE; }
static bool load_meter_record(void *context, uint32_t index, uint8_t *buffer, uint32_t size) {
    (void)context;
    if (index > METER_GRANTS) return false;
    const uint8_t *entry = meter_entry(index);
    if (entry[0] != 1 || (uint32_t)(entry[1] | entry[2] << 8) != size) return false;
    memcpy(buffer, entry + 3, size);
    return true;
}
static bool store_meter_record(void *context, uint32_t index, const uint8_t *bytes, uint32_t size) {
    (void)context;
    if (index > METER_GRANTS || size > METER_RECORD_STRIDE - 3) return false;
    uint8_t *entry = meter_entry(index);
    entry[0] = 1;
    entry[1] = (uint8_t)size;
    entry[2] = (uint8_t)(size >> 8);
    memcpy(entry + 3, bytes, size);
    return save((uint32_t)(entry - flash), METER_RECORD_STRIDE);
}
static bool erase_page(void *context, uint32_t page) {
    (void)context;
    memset(flash + page * PAGE_SIZE, 0xFF, PAGE_SIZE);
    return save(page * PAGE_SIZE, PAGE_SIZE);
}
static bool write_flash(void *context, uint32_t offset, const uint8_t *bytes, uint32_t count) {
    (void)context;
    for (uint32_t index = 0; index < count; index++) flash[offset + index] &= bytes[index]; /* NOR: clears bits */
    return save(offset, count);
}
static bool read_flash(void *context, uint32_t offset, uint8_t *buffer, uint32_t count) {
    (void)context;
    memcpy(buffer, flash + offset, count);
    return true;
}

static const tinyfleet_platform platform = {
    NULL, uart_connect, uart_disconnect, uart_read, uart_write, milliseconds, test_random, load_record, store_record,
    load_meter_record, store_meter_record, erase_page, write_flash, read_flash, PAGE_SIZE, PAGE_COUNT,
};

/* The first row of the digits test split (pixels 0...16), label 1, as in firmware/Console.swift. */
static const uint8_t digit_row[64] = {
    0, 0, 0, 2, 16, 16, 2, 0, 0, 0, 0, 4, 16, 16, 2, 0, 0, 1, 4, 12, 16, 12, 0, 0, 0, 7, 16, 16, 16, 12, 0, 0,
    0, 0, 3, 10, 16, 14, 0, 0, 0, 0, 0, 8, 16, 12, 0, 0, 0, 0, 0, 6, 16, 16, 2, 0, 0, 0, 0, 2, 12, 15, 4, 0,
};

static void put_string(const char *text) { put_bytes((const uint8_t *)text, (int32_t)strlen(text)); }

static void stack_mark(const char *before) {
    put(before);
    put("stack high-water mark: ");
    put_u32(stack_used());
    put(" bytes, heap used at start-up: ");
    put_u32(heap_used());
    put(" bytes\n");
}

/* The inference scratch for the digits models, allocated once: the input row (64 floats), then what
 * tinyfleet_predict needs (2 * 256 + 10 floats). */
#define INPUT_FLOATS 64
#define SCRATCH_FLOATS (INPUT_FLOATS + 2 * 256 + 16)

/* The digit row through the installed model with tinyfleet_predict, metered: a tinyfleet_result. */
static int32_t predict_row(tinyfleet_leaf *leaf, float *scratch, tinyfleet_prediction *prediction) {
    for (int index = 0; index < INPUT_FLOATS; index++) scratch[index] = (float)digit_row[index] / 16.0f;
    return tinyfleet_predict(leaf, scratch, INPUT_FLOATS, scratch + INPUT_FLOATS, SCRATCH_FLOATS - INPUT_FLOATS,
                             prediction);
}

/* Classifies the digit row with the installed model: `classified digit: class C (row label 1)`, the firmware's own
 * check of a model it installed or started with. tinyfleet_predict meters every call, so with a metered model (a
 * grant names it, or it was pushed --metered) the check would draw an application's query: it is skipped then
 * (`classify: skipped, the model is metered`). */
static void classify(tinyfleet_leaf *leaf, float *scratch) {
    tinyfleet_meter_status meter;
    tinyfleet_get_meter_status(leaf, &meter);
    if (meter.model_metered || meter.pushed_metered) {
        put("classify: skipped, the model is metered\n");
        return;
    }
    tinyfleet_prediction prediction;
    int32_t result = predict_row(leaf, scratch, &prediction);
    if (result != TINYFLEET_OK) {
        put("classify: ");
        put(tinyfleet_result_name(result));
        put("\n");
        return;
    }
    put("classified digit: class ");
    put_u32((uint32_t)prediction.predicted_class);
    put(" (row label 1)\n");
}

/* One query of the application (a `q` byte on UART1): the digit row through tinyfleet_predict, metered before it
 * returns OK. Answered: `query answered: class C` on the console and the class as one ASCII digit on UART1.
 * Refused: `refused query: NAME` (tinyfleet_result_name: quota-exhausted, rate-limited, ledger-full, storage-failed,
 * no-model, ...) and `x` on UART1, never a prediction. Not inlined: the main loop's frame stays small. */
static void __attribute__((noinline)) answer_query(tinyfleet_leaf *leaf, float *scratch) {
    tinyfleet_prediction prediction;
    int32_t result = predict_row(leaf, scratch, &prediction);
    if (result == TINYFLEET_OK) {
        put("query answered: class ");
        put_u32((uint32_t)prediction.predicted_class);
        put("\n");
        app_uart_write((uint8_t)('0' + prediction.predicted_class));
        return;
    }
    put("refused query: ");
    put(tinyfleet_result_name(result));
    put("\n");
    app_uart_write('x');
}

/* What the integrator logs of the meter, as the Swift firmware's MeterLog: `quota grant S held, stack high-water
 * mark: N bytes` when the highest grant sequence held changes (a grant arrived, or was loaded at start), and `usage
 * receipts acknowledged, stack high-water mark: N bytes` when the coordinator acknowledged the last unsynced
 * receipt. */
static void __attribute__((noinline)) report_meter(tinyfleet_leaf *leaf) {
    static uint32_t sequence = 0, unsynced = 0;
    tinyfleet_meter_status meter;
    tinyfleet_get_meter_status(leaf, &meter);
    if ((uint32_t)meter.highest_grant_sequence != sequence) {
        sequence = (uint32_t)meter.highest_grant_sequence;
        put("quota grant ");
        put_u32(sequence);
        put(" held, stack high-water mark: ");
        put_u32(stack_used());
        put(" bytes\n");
    }
    if (meter.unsynced_receipts != unsynced) {
        if (meter.unsynced_receipts == 0) {
            put("usage receipts acknowledged, stack high-water mark: ");
            put_u32(stack_used());
            put(" bytes\n");
        }
        unsynced = meter.unsynced_receipts;
    }
}

/* The model line: `installed NAME vV VARIANT`, or `active slot: NAME vV VARIANT` (the model the kit runs now; the
 * Swift firmware's line also gives the slot's SHA-256, which tinyfleet.h does not expose). */
static void model_line(tinyfleet_leaf *leaf, const char *prefix) {
    tinyfleet_status status;
    tinyfleet_get_status(leaf, &status);
    put(prefix);
    put_string(status.model_name);
    put(" v");
    put_u32((uint32_t)status.model_version);
    put(" ");
    put_string(status.model_variant);
    put("\n");
}

/* Start-up: flash, the host's arguments, the buffers (allocated once from the start-up heap) and the leaf. */
static tinyfleet_leaf *start(void) {
    static uint8_t argument[200];
    memset(flash, 0xFF, TOTAL_BYTES);
    int32_t path_length = host_argument(3, argument, sizeof argument);
    if (path_length > 0) {
        flash_file = host_file_open(argument, path_length);
        int32_t stored = flash_file >= 0 ? host_file_length(flash_file) : -1;
        if (stored > TOTAL_BYTES) stored = TOTAL_BYTES;
        if (stored < 0 || (stored > 0 && host_file_read(flash_file, 0, flash, stored) != stored)
            || !save((uint32_t)stored, (uint32_t)(TOTAL_BYTES - stored))) {
            put("firmware: the flash file cannot be opened, read or extended\n");
            return NULL;
        }
    }
    uint8_t seed[64];
    if (host_argument(2, seed, 64) != 64) {
        put("firmware: pass TOKEN SEED_HEX64 with -append\n");
        return NULL;
    }
    for (int index = 0; index < 64; index++) {
        uint8_t c = seed[index];
        uint64_t nibble = c >= 'a' ? (uint64_t)(c - 'a' + 10) : c >= 'A' ? (uint64_t)(c - 'A' + 10) : (uint64_t)(c - '0');
        random_state = random_state * 16 + nibble + (random_state >> 60) * 0x9E3779B97F4A7C15ull;
    }
    static char token[128];
    int32_t token_length = host_argument(1, (uint8_t *)token, sizeof token - 1);
    if (token_length <= 0) {
        put("firmware: pass TOKEN SEED_HEX64 with -append\n");
        return NULL;
    }
    token[token_length] = 0;

    tinyfleet_sizes sizes;
    tinyfleet_get_sizes(METER_GRANTS, PAGE_SIZE, &sizes);
    void *leaf_memory = NULL, *receive = NULL, *send = NULL, *page = NULL, *meter = NULL;
    if (posix_memalign(&leaf_memory, sizes.leaf_alignment, sizes.leaf_bytes) != 0
        || posix_memalign(&receive, 8, RECEIVE_BYTES) != 0 || posix_memalign(&send, 8, SEND_BYTES) != 0
        || posix_memalign(&page, 8, PAGE_SIZE) != 0 || posix_memalign(&meter, 8, sizes.meter_bytes) != 0) {
        put("firmware: out of start-up memory\n");
        return NULL;
    }
    /* The kit keeps pointers to the strings: static, as the token. */
    static tinyfleet_settings settings = {
        NULL, "leaf-qemu", "fleet-mcu-qemu-c/1", 256u * 1024u, FLASH_BYTES, 0, 0, METER_GRANTS, 0,
    };
    settings.token = token;
    tinyfleet_buffers buffers = {
        leaf_memory, receive, send, page, meter, sizes.leaf_bytes, RECEIVE_BYTES, SEND_BYTES, PAGE_SIZE,
        sizes.meter_bytes,
    };
    tinyfleet_leaf *leaf = NULL;
    int32_t result = tinyfleet_start(&platform, &settings, &buffers, &leaf);
    if (result != TINYFLEET_OK) {
        put("firmware: tinyfleet_start: ");
        put(tinyfleet_result_name(result));
        put("\n");
        return NULL;
    }
    tinyfleet_status status;
    tinyfleet_get_status(leaf, &status);
    put("leaf ");
    put_string(status.device_id);
    put(" started (C)\nkit state: leaf ");
    put_u32(sizes.leaf_bytes);
    put(" bytes, installer work ");
    put_u32(sizes.installer_work_bytes);
    put(" bytes\n");
    return leaf;
}

/* Prints the model the leaf started with (`active slot: NAME vV VARIANT`, or `active slot: none`); whether it has
 * one. */
static bool __attribute__((noinline)) report_active_model(tinyfleet_leaf *leaf) {
    tinyfleet_status status;
    tinyfleet_get_status(leaf, &status);
    if (status.model_version < 0) {
        put("active slot: none\n");
        return false;
    }
    model_line(leaf, "active slot: ");
    return true;
}

/* Whether the leaf is online with every grant held: the stored grants are verified in the first poll, so only then
 * does classify see whether the model it started with is metered (a query before it would be metered against them). */
static bool __attribute__((noinline)) online_and_synced(tinyfleet_leaf *leaf) {
    tinyfleet_status status;
    tinyfleet_meter_status meter;
    tinyfleet_get_status(leaf, &status);
    tinyfleet_get_meter_status(leaf, &meter);
    return status.phase == TINYFLEET_PHASE_ONLINE && meter.quota_synced;
}

int leaf_main(void) {
    uart_init();
    app_uart_init();
    tinyfleet_leaf *leaf = start();
    if (!leaf) return 2;
    void *scratch = NULL;
    if (posix_memalign(&scratch, 8, SCRATCH_FLOATS * sizeof(float)) != 0) return 2;
    /* The check of the model it started with waits until the leaf is online with its grants. */
    bool check_pending = report_active_model(leaf);
    for (;;) {
        if (app_uart_read() == 'q') answer_query(leaf, scratch);
        report_meter(leaf);
        if (check_pending && online_and_synced(leaf)) {
            check_pending = false;
            classify(leaf, scratch);
        }
        tinyfleet_event event;
        switch (tinyfleet_poll(leaf, &event)) {
        case TINYFLEET_EVENT_WELCOMED: stack_mark(event.enrolled ? "enrolled, " : "authenticated, "); break;
        case TINYFLEET_EVENT_INSTALLED:
            model_line(leaf, "installed ");
            model_line(leaf, "active slot: ");
            classify(leaf, scratch);
            stack_mark("");
            break;
        case TINYFLEET_EVENT_REFUSED:
            put("refused v");
            put_u32((uint32_t)event.version);
            put(": ");
            put(event.refusal);
            put("\n");
            break;
        case TINYFLEET_EVENT_COORDINATOR_ERROR:
            put("coordinator error ");
            put_u32((uint32_t)event.coordinator_error);
            put("\n");
            break;
        case TINYFLEET_EVENT_DISCONNECTED: put("disconnected\n"); break;
        default: break;
        }
    }
}

/*
 * host-leaf.c: a TinyFleet leaf written in C, on Linux. It runs FleetTinyKit through tinyfleet.h: its platform is
 * TCP to a `fleet-agent --leaf-listen` gateway, a flash file and record files in its state directory, the monotonic
 * clock and /dev/urandom. After each install (and at start-up, once online, when a model is installed), once every
 * grant it holds is synced, it asks its queries: the test rows of a digits CSV in turn, each through
 * tinyfleet_predict (metered: a refused query gets no answer), and prints how many it got right, as
 * `fleet-tiny-sim --infer` does in Swift. Built by Examples/c-leaf/build.sh; SIGTERM or SIGINT stops it cleanly.
 *
 * Usage: host-leaf --gateway HOST:PORT --token TOKEN --state-dir DIR [--name NAME] [--rows CSV]
 *                  [--feature-scale S] [--meter-grants N] [--queries K]
 * --queries K: K queries each time (the rows in turn, again from the first past the last); default one per row.
 * Output lines: `sizes: ...`, `leaf ID started[, model NAME vV VARIANT]`, `enrolled` | `authenticated`,
 * `installed NAME vV VARIANT`, `refused vV: CODE`, `quota grant S held, remaining R` (when the highest grant sequence
 * held changes), `usage receipts acknowledged` (when the coordinator acknowledged the last unsynced receipt),
 * `predicted classes: DIGITS` (one per query, `-` refused), `refused N queries: NAME (CODE)` (per tinyfleet_result
 * code), then `classified K rows with NAME vV VARIANT: C correct, R refused`, `meter: grant sequence S, model metered
 * M, pushed metered P, remaining R, unsynced receipts U, grants refused G` (tinyfleet_get_meter_status after the
 * queries), `disconnected`, `stopped`.
 */
#define _POSIX_C_SOURCE 200809L

#include "tinyfleet.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define PAGE_SIZE 4096u
#define PAGE_COUNT 66u /* two record pages, two slots of 32 pages (128 KiB; the digits int8 model is 51,850 B) */
#define RECEIVE_BYTES (4u + 16u * 1024u)
#define SEND_BYTES 2048u
#define MAX_ROWS 2000
#define MAX_QUERIES 100000
#define FEATURES 64

/* The platform's state: the context every callback gets. */
struct host {
    char directory[512];
    struct sockaddr_in gateway;
    int socket;
    int flash;        /* the flash file's descriptor */
    int received;     /* whether the last receive got bytes */
};

static volatile sig_atomic_t stopping = 0;
static void on_signal(int signal_number) { (void)signal_number; stopping = 1; }

/* ---- transport: TCP ---- */

static bool host_connect(void *context) {
    struct host *host = context;
    if (host->socket >= 0) close(host->socket);
    host->socket = socket(AF_INET, SOCK_STREAM, 0);
    if (host->socket < 0) return false;
    if (connect(host->socket, (struct sockaddr *)&host->gateway, sizeof host->gateway) != 0) {
        close(host->socket);
        host->socket = -1;
        return false;
    }
    int one = 1;
    setsockopt(host->socket, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    return true;
}

static void host_disconnect(void *context) {
    struct host *host = context;
    if (host->socket >= 0) close(host->socket);
    host->socket = -1;
}

static int32_t host_receive(void *context, uint8_t *buffer, uint32_t capacity) {
    struct host *host = context;
    host->received = 0;
    if (host->socket < 0) return -1;
    ssize_t count = recv(host->socket, buffer, capacity, MSG_DONTWAIT);
    if (count > 0) {
        host->received = 1;
        return (int32_t)count;
    }
    if (count < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) return 0;
    return -1;
}

static bool host_send(void *context, const uint8_t *bytes, uint32_t count) {
    struct host *host = context;
    if (host->socket < 0) return false;
    while (count > 0) {
        ssize_t sent = send(host->socket, bytes, count, MSG_NOSIGNAL);
        if (sent < 0 && errno == EINTR) continue;
        if (sent <= 0) return false;
        bytes += sent;
        count -= (uint32_t)sent;
    }
    return true;
}

/* ---- clock and random ---- */

static uint64_t host_milliseconds(void *context) {
    (void)context;
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (uint64_t)now.tv_sec * 1000u + (uint64_t)now.tv_nsec / 1000000u;
}

static bool host_random(void *context, uint8_t *buffer, uint32_t count) {
    (void)context;
    int file = open("/dev/urandom", O_RDONLY);
    if (file < 0) return false;
    ssize_t got = read(file, buffer, count);
    close(file);
    return got == (ssize_t)count;
}

/* ---- key storage: one file per record, replaced atomically (write a temporary file, fsync, rename) ---- */

static bool read_file(const char *path, uint8_t *buffer, uint32_t size) {
    int file = open(path, O_RDONLY);
    if (file < 0) return false;
    struct stat info;
    bool ok = fstat(file, &info) == 0 && info.st_size == (off_t)size && read(file, buffer, size) == (ssize_t)size;
    close(file);
    return ok;
}

static bool write_file(const char *path, const uint8_t *bytes, uint32_t size) {
    char temporary[600];
    snprintf(temporary, sizeof temporary, "%s.new", path);
    int file = open(temporary, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (file < 0) return false;
    bool ok = write(file, bytes, size) == (ssize_t)size && fsync(file) == 0;
    close(file);
    return ok && rename(temporary, path) == 0;
}

static void record_path(struct host *host, const char *kind, uint32_t index, char *path, size_t capacity) {
    snprintf(path, capacity, "%s/%s-%u", host->directory, kind, (unsigned)index);
}

static bool host_load_record(void *context, uint32_t record, uint8_t *buffer, uint32_t size) {
    char path[600];
    record_path(context, "record", record, path, sizeof path);
    return read_file(path, buffer, size);
}

static bool host_store_record(void *context, uint32_t record, const uint8_t *bytes, uint32_t size) {
    char path[600];
    record_path(context, "record", record, path, sizeof path);
    return write_file(path, bytes, size);
}

static bool host_load_meter_record(void *context, uint32_t index, uint8_t *buffer, uint32_t size) {
    char path[600];
    record_path(context, "meter", index, path, sizeof path);
    return read_file(path, buffer, size);
}

static bool host_store_meter_record(void *context, uint32_t index, const uint8_t *bytes, uint32_t size) {
    char path[600];
    record_path(context, "meter", index, path, sizeof path);
    return write_file(path, bytes, size);
}

/* ---- flash: a file with flash's rules (erased bytes read 0xFF, programming only clears bits) ---- */

static bool host_erase_page(void *context, uint32_t page) {
    struct host *host = context;
    static uint8_t erased[PAGE_SIZE];
    memset(erased, 0xFF, sizeof erased);
    return pwrite(host->flash, erased, PAGE_SIZE, (off_t)page * PAGE_SIZE) == (ssize_t)PAGE_SIZE;
}

static bool host_read(void *context, uint32_t offset, uint8_t *buffer, uint32_t count) {
    struct host *host = context;
    return pread(host->flash, buffer, count, offset) == (ssize_t)count;
}

static bool host_write(void *context, uint32_t offset, const uint8_t *bytes, uint32_t count) {
    struct host *host = context;
    uint8_t old[512];
    while (count > 0) {
        uint32_t piece = count < sizeof old ? count : (uint32_t)sizeof old;
        if (pread(host->flash, old, piece, offset) != (ssize_t)piece) return false;
        for (uint32_t index = 0; index < piece; index++) old[index] &= bytes[index];
        if (pwrite(host->flash, old, piece, offset) != (ssize_t)piece) return false;
        offset += piece;
        bytes += piece;
        count -= piece;
    }
    return true;
}

/* Opens DIR/flash, created erased when missing. */
static bool open_flash(struct host *host) {
    char path[600];
    snprintf(path, sizeof path, "%s/flash", host->directory);
    host->flash = open(path, O_RDWR | O_CREAT, 0600);
    if (host->flash < 0) return false;
    struct stat info;
    if (fstat(host->flash, &info) != 0) return false;
    if (info.st_size == (off_t)PAGE_COUNT * PAGE_SIZE) return true;
    for (uint32_t page = 0; page < PAGE_COUNT; page++) {
        if (!host_erase_page(host, page)) return false;
    }
    return true;
}

/* ---- the application's queries: rows of a digits CSV (64 pixels, label, split, ...), the `test` split ---- */

static float rows[MAX_ROWS][FEATURES];
static int labels[MAX_ROWS];
static int row_count = 0;

static bool load_rows(const char *path, float scale) {
    FILE *file = fopen(path, "r");
    if (!file) return false;
    char line[2048];
    if (!fgets(line, sizeof line, file)) {
        fclose(file);
        return false;
    }
    while (row_count < MAX_ROWS && fgets(line, sizeof line, file)) {
        char *cursor = line;
        int column = 0;
        int label = -1;
        bool test = false;
        while (cursor && *cursor && *cursor != '\n') {
            char *end = strchr(cursor, ',');
            if (column < FEATURES) rows[row_count][column] = strtof(cursor, NULL) * scale;
            else if (column == FEATURES) label = atoi(cursor);
            else if (column == FEATURES + 1) test = strncmp(cursor, "test", 4) == 0;
            column++;
            cursor = end ? end + 1 : NULL;
        }
        if (column >= FEATURES + 2 && test && label >= 0) labels[row_count++] = label;
    }
    fclose(file);
    return row_count > 0;
}

/* The meter as tinyfleet_get_meter_status reports it: `meter: grant sequence S, ...`. */
static void print_meter(tinyfleet_leaf *leaf) {
    tinyfleet_meter_status meter;
    tinyfleet_get_meter_status(leaf, &meter);
    printf("meter: grant sequence %llu, model metered %u, pushed metered %u, remaining %llu, unsynced receipts %u, "
           "grants refused %u\n",
           (unsigned long long)meter.highest_grant_sequence, (unsigned)meter.model_metered,
           (unsigned)meter.pushed_metered, (unsigned long long)meter.remaining_queries,
           (unsigned)meter.unsynced_receipts, (unsigned)meter.refused_grants);
}

/* Asks `count` queries of the installed model (metered), the rows in turn, and prints the outcome. */
static void classify(tinyfleet_leaf *leaf, int count) {
    if (row_count == 0 || count <= 0) return;
    tinyfleet_status status;
    tinyfleet_get_status(leaf, &status);
    static float scratch[4096];
    if (status.model_version < 0 || status.scratch_floats > sizeof scratch / sizeof scratch[0]) {
        printf("classify: no model, or its scratch (%u floats) is too large\n", (unsigned)status.scratch_floats);
        return;
    }
    static char classes[MAX_QUERIES + 1];
    /* Queries refused by each metering code, TINYFLEET_ERR_QUOTA_EXHAUSTED (-10) ... STORAGE_FAILED (-13). */
    int refusals[4] = {0, 0, 0, 0};
    int correct = 0, refused = 0, failed = 0;
    for (int query = 0; query < count; query++) {
        int row = query % row_count;
        tinyfleet_prediction prediction;
        int32_t result = tinyfleet_predict(leaf, rows[row], FEATURES, scratch, status.scratch_floats, &prediction);
        classes[query] = result == TINYFLEET_OK && prediction.predicted_class < 10
            ? (char)('0' + prediction.predicted_class) : '-';
        if (result == TINYFLEET_OK) {
            if (prediction.predicted_class == labels[row]) correct++;
        } else if (result <= TINYFLEET_ERR_QUOTA_EXHAUSTED && result >= TINYFLEET_ERR_STORAGE_FAILED) {
            refused++;
            refusals[TINYFLEET_ERR_QUOTA_EXHAUSTED - result]++;
        } else {
            failed++;
            if (failed == 1) printf("classify: %s\n", tinyfleet_result_name(result));
        }
    }
    classes[count] = 0;
    printf("predicted classes: %s\n", classes);
    for (int index = 0; index < 4; index++) {
        int32_t code = TINYFLEET_ERR_QUOTA_EXHAUSTED - index;
        if (refusals[index] > 0) {
            printf("refused %d queries: %s (%d)\n", refusals[index], tinyfleet_result_name(code), (int)code);
        }
    }
    printf("classified %d rows with %s v%d %s: %d correct, %d refused\n", count, status.model_name,
           (int)status.model_version, status.model_variant, correct, refused);
    print_meter(leaf);
    fflush(stdout);
}

/* What the meter's state says as it changes while the link runs: `quota grant S held, remaining R` when the highest
 * grant sequence held changes (a grant arrived, or was loaded at start), `usage receipts acknowledged` when the last
 * unsynced receipt was acknowledged. */
static void report_meter(tinyfleet_leaf *leaf) {
    static uint64_t sequence = 0;
    static uint32_t unsynced = 0;
    tinyfleet_meter_status meter;
    tinyfleet_get_meter_status(leaf, &meter);
    if (meter.highest_grant_sequence != sequence) {
        sequence = meter.highest_grant_sequence;
        printf("quota grant %llu held, remaining %llu\n", (unsigned long long)sequence,
               (unsigned long long)meter.remaining_queries);
    }
    if (meter.unsynced_receipts != unsynced) {
        if (meter.unsynced_receipts == 0) printf("usage receipts acknowledged\n");
        unsynced = meter.unsynced_receipts;
    }
}

/* The structs as the kit sees them must be the structs this header declares. */
static bool sizes_agree(const tinyfleet_sizes *sizes) {
    return sizes->platform_struct_bytes == sizeof(tinyfleet_platform)
        && sizes->settings_struct_bytes == sizeof(tinyfleet_settings)
        && sizes->buffers_struct_bytes == sizeof(tinyfleet_buffers)
        && sizes->status_struct_bytes == sizeof(tinyfleet_status)
        && sizes->meter_status_struct_bytes == sizeof(tinyfleet_meter_status)
        && sizes->event_struct_bytes == sizeof(tinyfleet_event)
        && sizes->prediction_struct_bytes == sizeof(tinyfleet_prediction);
}

static int usage(void) {
    fprintf(stderr, "usage: host-leaf --gateway HOST:PORT --token TOKEN --state-dir DIR [--name NAME] [--rows CSV] "
                    "[--feature-scale S] [--meter-grants N] [--queries K]\n");
    return 2;
}

int main(int argc, char **argv) {
    const char *gateway = NULL, *token = NULL, *directory = NULL, *name = "c-leaf", *rows_path = NULL;
    float scale = 1.0f / 16.0f;
    uint32_t grants = 4;
    int queries = -1; /* -1: one query per row */
    for (int index = 1; index + 1 < argc; index += 2) {
        if (strcmp(argv[index], "--gateway") == 0) gateway = argv[index + 1];
        else if (strcmp(argv[index], "--token") == 0) token = argv[index + 1];
        else if (strcmp(argv[index], "--state-dir") == 0) directory = argv[index + 1];
        else if (strcmp(argv[index], "--name") == 0) name = argv[index + 1];
        else if (strcmp(argv[index], "--rows") == 0) rows_path = argv[index + 1];
        else if (strcmp(argv[index], "--feature-scale") == 0) scale = strtof(argv[index + 1], NULL);
        else if (strcmp(argv[index], "--meter-grants") == 0) grants = (uint32_t)atoi(argv[index + 1]);
        else if (strcmp(argv[index], "--queries") == 0) queries = atoi(argv[index + 1]);
        else return usage();
    }
    if (!gateway || !token || !directory || queries < -1 || queries > MAX_QUERIES) return usage();
    setvbuf(stdout, NULL, _IOLBF, 0); /* one line at a time, for a test or a pipe reading them */

    static struct host host;
    host.socket = -1;
    snprintf(host.directory, sizeof host.directory, "%s", directory);
    mkdir(directory, 0700);
    const char *colon = strrchr(gateway, ':');
    if (!colon) return usage();
    char address[64];
    snprintf(address, sizeof address, "%.*s", (int)(colon - gateway), gateway);
    host.gateway.sin_family = AF_INET;
    host.gateway.sin_port = htons((uint16_t)atoi(colon + 1));
    if (inet_pton(AF_INET, address, &host.gateway.sin_addr) != 1) return usage();
    if (!open_flash(&host)) {
        fprintf(stderr, "host-leaf: cannot use %s/flash\n", directory);
        return 1;
    }
    if (rows_path && !load_rows(rows_path, scale)) {
        fprintf(stderr, "host-leaf: no test rows in %s\n", rows_path);
        return 1;
    }
    if (queries < 0) queries = row_count;

    static const tinyfleet_platform platform_template = {
        NULL, host_connect, host_disconnect, host_receive, host_send, host_milliseconds, host_random,
        host_load_record, host_store_record, host_load_meter_record, host_store_meter_record,
        host_erase_page, host_write, host_read, PAGE_SIZE, PAGE_COUNT,
    };
    static tinyfleet_platform platform;
    platform = platform_template;
    platform.context = &host;

    tinyfleet_sizes sizes;
    tinyfleet_get_sizes(grants, PAGE_SIZE, &sizes);
    printf("sizes: leaf %u bytes (align %u), receive >= %u, send >= %u, page %u, meter %u, installer work %u\n",
           (unsigned)sizes.leaf_bytes, (unsigned)sizes.leaf_alignment, (unsigned)sizes.receive_min,
           (unsigned)sizes.send_min, (unsigned)sizes.page_bytes, (unsigned)sizes.meter_bytes,
           (unsigned)sizes.installer_work_bytes);
    if (!sizes_agree(&sizes)) {
        fprintf(stderr, "host-leaf: tinyfleet.h's structs differ from the kit's\n");
        return 3;
    }
    /* The buffers, sized from tinyfleet_get_sizes once at start-up (static arrays on a microcontroller). */
    void *leaf_memory = NULL, *meter_memory = NULL;
    if (posix_memalign(&leaf_memory, sizes.leaf_alignment < 8 ? 8 : sizes.leaf_alignment, sizes.leaf_bytes) != 0
        || (grants > 0 && posix_memalign(&meter_memory, 8, sizes.meter_bytes) != 0)) {
        return 1;
    }
    static uint8_t receive[RECEIVE_BYTES], send_buffer[SEND_BYTES], page[PAGE_SIZE];
    tinyfleet_buffers buffers = {
        leaf_memory, receive, send_buffer, page, meter_memory,
        sizes.leaf_bytes, RECEIVE_BYTES, SEND_BYTES, PAGE_SIZE, sizes.meter_bytes,
    };
    tinyfleet_settings settings = {
        token, name, "host-leaf-c/1", 256u * 1024u, (uint64_t)PAGE_COUNT * PAGE_SIZE, 200, 2000, grants, 0,
    };
    tinyfleet_leaf *leaf = NULL;
    int32_t started = tinyfleet_start(&platform, &settings, &buffers, &leaf);
    if (started != TINYFLEET_OK) {
        fprintf(stderr, "host-leaf: tinyfleet_start: %s\n", tinyfleet_result_name(started));
        return 1;
    }
    tinyfleet_status status;
    tinyfleet_get_status(leaf, &status);
    if (status.model_version >= 0) {
        printf("leaf %s started, model %s v%d %s\n", status.device_id, status.model_name, (int)status.model_version,
               status.model_variant);
    } else {
        printf("leaf %s started\n", status.device_id);
    }
    fflush(stdout);

    struct sigaction action;
    memset(&action, 0, sizeof action);
    action.sa_handler = on_signal;
    sigaction(SIGTERM, &action, NULL);
    sigaction(SIGINT, &action, NULL);
    /* A parent may have blocked them (a blocked signal mask is inherited): take them. */
    sigset_t signals;
    sigemptyset(&signals);
    sigaddset(&signals, SIGTERM);
    sigaddset(&signals, SIGINT);
    sigprocmask(SIG_UNBLOCK, &signals, NULL);

    bool classify_when_online = status.model_version >= 0;
    while (!stopping) {
        tinyfleet_event event;
        switch (tinyfleet_poll(leaf, &event)) {
        case TINYFLEET_EVENT_WELCOMED: printf(event.enrolled ? "enrolled\n" : "authenticated\n"); break;
        case TINYFLEET_EVENT_INSTALLED:
            tinyfleet_get_status(leaf, &status);
            printf("installed %s v%d %s\n", status.model_name, (int)event.version, status.model_variant);
            classify_when_online = true;
            break;
        case TINYFLEET_EVENT_REFUSED: printf("refused v%d: %s\n", (int)event.version, event.refusal); break;
        case TINYFLEET_EVENT_COORDINATOR_ERROR: printf("coordinator error %d\n", (int)event.coordinator_error); break;
        case TINYFLEET_EVENT_DISCONNECTED: printf("disconnected\n"); break;
        default: break;
        }
        if (grants > 0) report_meter(leaf);
        if (classify_when_online) {
            tinyfleet_meter_status meter;
            tinyfleet_get_status(leaf, &status);
            tinyfleet_get_meter_status(leaf, &meter);
            /* Once online with every grant received: the grants decide what the queries cost. */
            if (status.phase == TINYFLEET_PHASE_ONLINE && meter.quota_synced) {
                classify_when_online = false;
                classify(leaf, queries);
            }
        }
        fflush(stdout);
        if (!host.received) {
            struct timespec pause = {0, 10 * 1000 * 1000};
            nanosleep(&pause, NULL);
        }
    }
    tinyfleet_stop(leaf);
    tinyfleet_release(leaf);
    free(leaf_memory);
    free(meter_memory);
    printf("stopped\n");
    return 0;
}

/*
 * tinyfleet.h: FleetTinyKit, the TinyFleet device kit for microcontrollers, from C (C99).
 *
 * The kit is Embedded Swift; these functions are its C entry points (`@_cdecl`, in the Swift files of
 * Sources/FleetTinyKit/C) over the same leaf the Swift firmware runs (TinyLeaf: enrol or authenticate through a
 * `fleet-agent` gateway, signed model installs into A/B flash slots, int8 inference, pay-per-query metering).
 * Link the kit's object (Scripts/tinykit-embedded.sh builds it for a Cortex-M4, or for the host with
 * TINYKIT_TARGET) with your C code and libm; it needs memset, memmove, posix_memalign and free from the C
 * library, and arc4random_buf on targets whose Embedded Swift runtime asks for it (the kit itself takes
 * randomness only from your platform's `random`).
 *
 * How to use it:
 *   1. Fill a tinyfleet_platform (your transport, flash, clock, random source and key storage).
 *   2. tinyfleet_get_sizes() says how large each buffer must be; give them in a tinyfleet_buffers. They are
 *      yours (static arrays, or allocated once at start-up) and must outlive the leaf; the kit allocates nothing
 *      after tinyfleet_start, which allocates once the installer's decoder state (installer_work_bytes).
 *   3. tinyfleet_start(), then call tinyfleet_poll() from your main loop (it never waits; call it often: every
 *      few milliseconds while bytes arrive), and tinyfleet_predict() for each query of your application.
 *
 * Every call returns at once; none is thread-safe: call them all from one thread (or the main loop).
 * Strings are NUL-terminated UTF-8. All sizes are in bytes unless a name says otherwise.
 */
#ifndef TINYFLEET_H
#define TINYFLEET_H

#include <stdbool.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---------------------------------------------------------------------------------------------------------------
 * Results. Every function that can fail returns one of these (0 is success, errors are negative).
 */
typedef enum tinyfleet_result {
    TINYFLEET_OK = 0,
    /* A pointer argument is NULL, or the platform lacks a required function (only the meter's two may be NULL)
     * or has page_size or page_count 0. */
    TINYFLEET_ERR_INVALID_ARGUMENT = -1,
    /* A buffer is smaller than tinyfleet_get_sizes() says (or page_bytes < the platform's page_size). */
    TINYFLEET_ERR_BUFFER_TOO_SMALL = -2,
    /* The leaf memory is not aligned to leaf_alignment, or the meter buffer not to 8. */
    TINYFLEET_ERR_MISALIGNED = -3,
    /* The flash cannot hold two record pages and two model slots of slot_pages pages. */
    TINYFLEET_ERR_FLASH_LAYOUT = -4,
    /* No identity: the random source failed or the identity seed could not be stored. */
    TINYFLEET_ERR_NO_IDENTITY = -5,
    /* No model is installed. */
    TINYFLEET_ERR_NO_MODEL = -6,
    /* The installed model's weights cannot be read or run (flash read error, unknown layout). */
    TINYFLEET_ERR_MODEL_UNREADABLE = -7,
    /* Fewer input features than the model takes (tinyfleet_status.input_features). */
    TINYFLEET_ERR_INPUT_TOO_SHORT = -8,
    /* Scratch smaller than tinyfleet_status.scratch_floats. */
    TINYFLEET_ERR_SCRATCH_TOO_SMALL = -9,
    /* Metering refused the query (do not give the answer): no query left in the model's grants (or a model pushed
     * --metered has no grant yet). */
    TINYFLEET_ERR_QUOTA_EXHAUSTED = -10,
    /* Metering refused the query: over the newest grant's rate per second (retry later). */
    TINYFLEET_ERR_RATE_LIMITED = -11,
    /* Metering refused the query: every unsynced usage-ledger entry is in use until the coordinator
     * acknowledges receipts (keep polling while online). */
    TINYFLEET_ERR_LEDGER_FULL = -12,
    /* Metering refused the query: its counters could not be stored (store_meter_record failed). */
    TINYFLEET_ERR_STORAGE_FAILED = -13
} tinyfleet_result;

/* The name of a result, e.g. "quota-exhausted" (for logs). */
static inline const char *tinyfleet_result_name(int32_t result) {
    switch (result) {
    case TINYFLEET_OK: return "ok";
    case TINYFLEET_ERR_INVALID_ARGUMENT: return "invalid-argument";
    case TINYFLEET_ERR_BUFFER_TOO_SMALL: return "buffer-too-small";
    case TINYFLEET_ERR_MISALIGNED: return "misaligned";
    case TINYFLEET_ERR_FLASH_LAYOUT: return "flash-layout";
    case TINYFLEET_ERR_NO_IDENTITY: return "no-identity";
    case TINYFLEET_ERR_NO_MODEL: return "no-model";
    case TINYFLEET_ERR_MODEL_UNREADABLE: return "model-unreadable";
    case TINYFLEET_ERR_INPUT_TOO_SHORT: return "input-too-short";
    case TINYFLEET_ERR_SCRATCH_TOO_SMALL: return "scratch-too-small";
    case TINYFLEET_ERR_QUOTA_EXHAUSTED: return "quota-exhausted";
    case TINYFLEET_ERR_RATE_LIMITED: return "rate-limited";
    case TINYFLEET_ERR_LEDGER_FULL: return "ledger-full";
    case TINYFLEET_ERR_STORAGE_FAILED: return "storage-failed";
    default: return "unknown";
    }
}

/* ---------------------------------------------------------------------------------------------------------------
 * The platform: the operations the kit needs from your board, as function pointers. Each gets `context` first.
 * Every function returns at once (the kit polls; it never waits). The struct is read at every call: keep it (and
 * what `context` points at) alive and unchanged for the leaf's life.
 */

/* The persistent records (load_record/store_record), each of a fixed size. */
typedef enum tinyfleet_record {
    TINYFLEET_RECORD_IDENTITY_SEED = 1, /* 32 bytes: the Ed25519 seed of the device key. Keep it secret. */
    TINYFLEET_RECORD_ENROLLED = 2,      /* 1 byte: 1 once a welcome answered the enrolment. */
    TINYFLEET_RECORD_RELEASE_KEY = 3,   /* 32 bytes: the coordinator's release key, pinned at the first welcome. */
    TINYFLEET_RECORD_INSTALLED_MODEL = 4 /* 88 bytes: the installed model (name, version, variant, SHA-256). */
} tinyfleet_record;

/* Sizes of the records above, in bytes. */
#define TINYFLEET_RECORD_IDENTITY_SEED_SIZE 32u
#define TINYFLEET_RECORD_ENROLLED_SIZE 1u
#define TINYFLEET_RECORD_RELEASE_KEY_SIZE 32u
#define TINYFLEET_RECORD_INSTALLED_MODEL_SIZE 88u

typedef struct tinyfleet_platform {
    /* Passed as the first argument of every function below; the kit never reads it. */
    void *context;

    /* Transport: a byte stream to the gateway (UART, BLE, TCP). */
    /* Opens the link. A UART that is always open returns true. false: not now (the kit retries with backoff). */
    bool (*connect)(void *context);
    /* Closes the link; the next connect starts a new connection. */
    void (*disconnect)(void *context);
    /* Copies up to `capacity` bytes that have arrived into `buffer`, without waiting. Returns how many (0 when none
     * arrived), or -1 when the link has closed. */
    int32_t (*receive)(void *context, uint8_t *buffer, uint32_t capacity);
    /* Sends (or queues) all `count` bytes. false when the link has closed or cannot take them. */
    bool (*send)(void *context, const uint8_t *bytes, uint32_t count);

    /* Clock: milliseconds since an arbitrary start; never decreases. */
    uint64_t (*milliseconds)(void *context);

    /* Random: fills `buffer` with `count` unpredictable bytes (a hardware TRNG). false when the source failed. */
    bool (*random)(void *context, uint8_t *buffer, uint32_t count);

    /* Key storage. load_record copies record `record` (a tinyfleet_record; `size` is its size) into `buffer`;
     * false when it was never written. store_record stores `size` bytes of it durably before it returns true (they
     * must survive a power cut once it has). */
    bool (*load_record)(void *context, uint32_t record, uint8_t *buffer, uint32_t size);
    bool (*store_record)(void *context, uint32_t record, const uint8_t *bytes, uint32_t size);

    /* Meter storage (pay-per-query; both may be NULL: the leaf then answers no metered query). Record `index` 0 holds
     * the counters and ledger, 1 ... meter_grants one grant each; sizes vary by record (at most meter_bytes). load:
     * false when never written, or stored with another size than `size`. store: durably and atomically (the old
     * bytes or the new, never a mix) before it returns true. */
    bool (*load_meter_record)(void *context, uint32_t index, uint8_t *buffer, uint32_t size);
    bool (*store_meter_record)(void *context, uint32_t index, const uint8_t *bytes, uint32_t size);

    /* Flash given to the kit: `page_count` pages of `page_size` bytes, addressed from offset 0; an erased byte reads
     * 0xFF. The kit only asks for ranges inside it. */
    /* Erases page `page` (0-based). false on a hardware error. */
    bool (*erase_page)(void *context, uint32_t page);
    /* Programs `count` bytes at `offset` (into erased memory). false on a hardware error. */
    bool (*write)(void *context, uint32_t offset, const uint8_t *bytes, uint32_t count);
    /* Reads `count` bytes at `offset` into `buffer`. false on an error. */
    bool (*read)(void *context, uint32_t offset, uint8_t *buffer, uint32_t count);
    /* The erase unit (at least 112 bytes) and how many pages the kit may use. */
    uint32_t page_size;
    uint32_t page_count;
} tinyfleet_platform;

/* ---------------------------------------------------------------------------------------------------------------
 * Start-up.
 */

/* What the leaf says about itself. The strings are read at start and kept by pointer: keep them for the leaf's
 * life. */
typedef struct tinyfleet_settings {
    const char *token;    /* The enrolment token (tft_...); used only until the leaf is enrolled. Required. */
    const char *name;     /* The device's name in `fleetctl devices`; NULL or "": the coordinator names it. */
    const char *software; /* Software version, e.g. "my-sensor/1.2". Required. */
    uint64_t ram_bytes;   /* RAM the models may use: reported as the `ram` capability (a variant's min-ram). */
    uint64_t flash_bytes; /* Flash the models may use: reported as `flash` and `storage`. */
    uint32_t reconnect_ms;     /* First wait before reconnecting (doubles per failure); 0: 500. */
    uint32_t max_reconnect_ms; /* Longest wait; 0: 30000. */
    uint32_t meter_grants;     /* Grant slots of the meter (pay-per-query); 0: no meter, every query is free. */
    uint32_t slot_pages;       /* Pages per model slot; 0: (page_count - 2) / 2 (two record pages, two slots). */
} tinyfleet_settings;

/* The memory the leaf lives in, all of it yours; each at least as large as tinyfleet_get_sizes() says. */
typedef struct tinyfleet_buffers {
    void *leaf;       /* The leaf's state: leaf_bytes, aligned to leaf_alignment. Becomes the tinyfleet_leaf. */
    uint8_t *receive; /* Incoming frames: at least receive_min; a frame longer than the buffer ends the
                       * connection, so 4 + 16384 is what the gateway's chunks need at full speed. */
    uint8_t *send;    /* Outgoing frames: at least send_min. */
    uint8_t *page;    /* One flash page (page_bytes), the installer's write buffer. */
    void *meter;      /* The meter's state (meter_bytes, aligned to 8); NULL when meter_grants is 0. */
    uint32_t leaf_bytes;
    uint32_t receive_bytes;
    uint32_t send_bytes;
    uint32_t page_bytes;
    uint32_t meter_bytes;
} tinyfleet_buffers;

/* What tinyfleet_get_sizes() reports. */
typedef struct tinyfleet_sizes {
    uint32_t leaf_bytes;         /* tinyfleet_buffers.leaf: the leaf's state. */
    uint32_t leaf_alignment;     /* ... and its alignment. */
    uint32_t receive_min;        /* Smallest receive buffer (4 + 1024). */
    uint32_t send_min;           /* Smallest send buffer (512; 640 with a meter). */
    uint32_t page_bytes;         /* The page buffer: the page size given. */
    uint32_t meter_bytes;        /* The meter buffer for the grants given (0 without). */
    uint32_t installer_work_bytes; /* Allocated once by tinyfleet_start (posix_memalign), freed by release. */
    /* The sizes of this header's structs as the kit sees them: equal to sizeof(...) on a matching build. */
    uint32_t platform_struct_bytes;
    uint32_t settings_struct_bytes;
    uint32_t buffers_struct_bytes;
    uint32_t status_struct_bytes;
    uint32_t meter_status_struct_bytes;
    uint32_t event_struct_bytes;
    uint32_t prediction_struct_bytes;
} tinyfleet_sizes;

/* The buffer sizes for a leaf with `meter_grants` grant slots (0: no meter) on flash of `page_size` pages. */
void tinyfleet_get_sizes(uint32_t meter_grants, uint32_t page_size, tinyfleet_sizes *out);

/* A running leaf: the memory of tinyfleet_buffers.leaf. */
typedef struct tinyfleet_leaf tinyfleet_leaf;

/* Starts a leaf: loads (or creates from `random` and stores) the identity key, the pinned release key, the
 * installed model. *leaf is set on TINYFLEET_OK (NULL otherwise). Errors: INVALID_ARGUMENT, BUFFER_TOO_SMALL,
 * MISALIGNED, FLASH_LAYOUT, NO_IDENTITY. Nothing is sent before the first poll. */
int32_t tinyfleet_start(
    const tinyfleet_platform *platform,
    const tinyfleet_settings *settings,
    const tinyfleet_buffers *buffers,
    tinyfleet_leaf **leaf
);

/* ---------------------------------------------------------------------------------------------------------------
 * The link.
 */

/* What one poll did (for your log). */
typedef enum tinyfleet_event_kind {
    TINYFLEET_EVENT_NONE = 0,
    TINYFLEET_EVENT_CONNECTED = 1,          /* The link opened and hello was sent. */
    TINYFLEET_EVENT_WELCOMED = 2,           /* Online; `enrolled` is 1 after a first enrolment, 0 after a login. */
    TINYFLEET_EVENT_INSTALLED = 3,          /* Model `version` was installed, checked and reported. */
    TINYFLEET_EVENT_REFUSED = 4,            /* Version `version` was refused or failed (`refusal`: a SPEC 11.6 code,
                                             * e.g. "hash-mismatch"); the old model stays. */
    TINYFLEET_EVENT_COORDINATOR_ERROR = 5,  /* The coordinator sent error `coordinator_error` (SPEC 15). */
    TINYFLEET_EVENT_DISCONNECTED = 6        /* The connection ended; the kit reconnects with backoff. */
} tinyfleet_event_kind;

typedef struct tinyfleet_event {
    int32_t kind;              /* A tinyfleet_event_kind. */
    int32_t version;           /* INSTALLED, REFUSED: the model version. */
    int32_t coordinator_error; /* COORDINATOR_ERROR: the code. */
    int32_t enrolled;          /* WELCOMED: 1 after an enrolment. */
    const char *refusal;       /* REFUSED: the reason (static, never freed); NULL otherwise. */
} tinyfleet_event;

/* One step of the link: connects when a retry is due, reads what arrived and answers it (authentication,
 * heartbeats, state reports, grants, usage receipts), streams model chunks into the inactive slot and switches to
 * a model once its signature and SHA-256 check out. Returns the event kind (and fills *event unless NULL). */
int32_t tinyfleet_poll(tinyfleet_leaf *leaf, tinyfleet_event *event);

/* Says goodbye and closes the link; a later poll connects again. */
void tinyfleet_stop(tinyfleet_leaf *leaf);

/* Ends the leaf: frees what tinyfleet_start allocated. The buffers are yours again; the stored records stay. */
void tinyfleet_release(tinyfleet_leaf *leaf);

/* ---------------------------------------------------------------------------------------------------------------
 * Inference and metering.
 */

typedef struct tinyfleet_prediction {
    int32_t predicted_class; /* The class, or -1 when the call did not return TINYFLEET_OK. */
    float confidence;        /* Its softmax probability. */
    int32_t billing;         /* 0 free (unmetered), 1 drawn from a grant, 2 from the offline grace. */
    int32_t reserved;
} tinyfleet_prediction;

/* One int8 inference on the installed model, then metered as the Swift leaf meters (the query is drawn and stored
 * before this returns OK). `input`: input_count features, scaled as the model expects (digits: pixel / 16).
 * `scratch`: scratch_floats floats (tinyfleet_status.scratch_floats: 2 * widest layer + classes); the softmax
 * probabilities are left at scratch[status.scratch_floats - status.classes ...]. Errors: INVALID_ARGUMENT, NO_MODEL,
 * MODEL_UNREADABLE, INPUT_TOO_SHORT, SCRATCH_TOO_SMALL, and the four metering refusals (give no answer then). */
int32_t tinyfleet_predict(
    tinyfleet_leaf *leaf,
    const float *input,
    uint32_t input_count,
    float *scratch,
    uint32_t scratch_floats,
    tinyfleet_prediction *out
);

/* Meters one query of the installed model whose answer you computed yourself (call it after computing the
 * answer, before giving it). OK: give it (*billing as in tinyfleet_prediction, when not NULL); a refusal: do not. */
int32_t tinyfleet_meter_inference(tinyfleet_leaf *leaf, int32_t *billing);

/* ---------------------------------------------------------------------------------------------------------------
 * Status.
 */

typedef enum tinyfleet_phase {
    TINYFLEET_PHASE_DISCONNECTED = 0,
    TINYFLEET_PHASE_AWAITING_HELLO_ACCEPT = 1,
    TINYFLEET_PHASE_AWAITING_WELCOME = 2,
    TINYFLEET_PHASE_ONLINE = 3
} tinyfleet_phase;

typedef struct tinyfleet_status {
    int32_t phase;           /* A tinyfleet_phase. */
    int32_t enrolled;        /* 1 once this identity has been enrolled. */
    int32_t model_version;   /* The installed model's version, -1 when none. */
    int32_t last_error_code; /* The last error code the coordinator sent (0: none). */
    uint32_t input_features; /* The installed model's inputs (0 without a readable model). */
    uint32_t classes;        /* Its classes. */
    uint32_t scratch_floats; /* The scratch tinyfleet_predict needs for it. */
    uint32_t reserved;
    char device_id[24];      /* "d-" and 16 hex digits. */
    char model_name[40];     /* "" when none. */
    char model_variant[24];
} tinyfleet_status;

void tinyfleet_get_status(tinyfleet_leaf *leaf, tinyfleet_status *out);

typedef struct tinyfleet_meter_status {
    uint64_t highest_grant_sequence; /* The highest grant sequence held (0: none). */
    uint64_t remaining_queries;      /* Queries left for the installed model in its valid grants (no grace). */
    uint32_t has_meter;              /* 1 when started with meter_grants > 0. */
    uint32_t quota_synced;           /* 1 once this connection's quotaSync was answered (every grant held). */
    uint32_t refused_grants;         /* Grants refused since start (bad signature, another device, no room). */
    uint32_t unsynced_receipts;      /* Usage-ledger entries not yet acknowledged by the coordinator. */
    uint32_t model_metered;          /* 1 when a grant names the installed model (its queries are metered). */
    uint32_t pushed_metered;         /* 1 when the installed version was pushed --metered. */
} tinyfleet_meter_status;

void tinyfleet_get_meter_status(tinyfleet_leaf *leaf, tinyfleet_meter_status *out);

#ifdef __cplusplus
}
#endif

#endif /* TINYFLEET_H */

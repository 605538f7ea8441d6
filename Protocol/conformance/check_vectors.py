#!/usr/bin/env python3
"""An independent decoder and encoder for the TinyFleet device link, written from Protocol/SPEC.md alone.

It shares no code with the Swift implementation (FleetWire): the message layouts below are SPEC.md section 5,
the field encodings section 3, the frame section 2. For every file in Protocol/vectors/ it checks both ways:

1. bytes -> message: the frame decodes to the vector's fields (and type), with nothing left over;
2. message -> bytes: the fields encode to the vector's frameHex exactly.

It also checks the varint examples and malformed forms of SPEC.md section 3.1.

    python3 Protocol/conformance/check_vectors.py [VECTOR_DIR]

Exits 0 and prints one line per vector when everything matches; exits 1 naming each failure otherwise.
Standard library only.
"""

import json
import math
import os
import struct
import sys


class Malformed(Exception):
    """A payload that breaks SPEC.md sections 2-3 (the coordinator's error 101)."""


# ---------------------------------------------------------------------------------------------------------------
# Field encodings (SPEC.md section 3)

U64 = 2**64 - 1
INT63 = 2**63 - 1
INT31 = 2**31 - 1
U16 = 65535
FRAME_LEN = 16777216


class Reader:
    def __init__(self, data):
        self.data = data
        self.pos = 0

    def left(self):
        return len(self.data) - self.pos

    def take(self, n, what):
        if n > self.left():
            raise Malformed(f"{what}: truncated ({n} bytes wanted, {self.left()} left)")
        chunk = self.data[self.pos:self.pos + n]
        self.pos += n
        return chunk

    def varint(self, what):
        # 3.1: at most 10 bytes, 64 bits, the 10th byte 00 or 01, no final 00 after the first byte.
        result = 0
        shift = 0
        while True:
            byte = self.take(1, what)[0]
            if shift == 63 and byte > 1:
                raise Malformed(f"{what}: varint longer than 64 bits")
            result |= (byte & 0x7F) << shift
            if byte & 0x80 == 0:
                if byte == 0 and shift > 0:
                    raise Malformed(f"{what}: over-long varint")
                return result
            shift += 7


def write_varint(value):
    if not 0 <= value <= U64:
        raise ValueError(f"varint out of range: {value}")
    out = bytearray()
    while value >= 0x80:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


class Varint:
    """A varint with a range 0...maximum (3.1's u64, int63, int31, u16, frameLen, 0...N)."""

    def __init__(self, maximum):
        self.maximum = maximum

    def decode(self, reader, what):
        value = reader.varint(what)
        if value > self.maximum:
            raise Malformed(f"{what}: {value} exceeds {self.maximum}")
        return value

    def encode(self, value):
        return write_varint(value)


class Byte:
    """3.2: one byte from a closed set of values; a boolean is 00/01 and reads as true/false."""

    def __init__(self, allowed, boolean=False):
        self.allowed = allowed
        self.boolean = boolean

    def decode(self, reader, what):
        value = reader.take(1, what)[0]
        if value not in self.allowed:
            raise Malformed(f"{what}: value {value} not allowed")
        return bool(value) if self.boolean else value

    def encode(self, value):
        return bytes([int(value)])


class Fixed:
    """3.3: exactly n raw bytes, no length prefix."""

    def __init__(self, n):
        self.n = n

    def decode(self, reader, what):
        return list(reader.take(self.n, what))

    def encode(self, value):
        if len(value) != self.n:
            raise ValueError(f"fixed field of {len(value)} bytes, expected {self.n}")
        return bytes(value)


class Bytes:
    """3.5: varint length + raw bytes; `lengths` restricts the length (welcome.releasePublicKey: 0 or 32)."""

    def __init__(self, lengths=None):
        self.lengths = lengths

    def decode(self, reader, what):
        n = reader.varint(what)
        if n > reader.left():
            raise Malformed(f"{what}: length {n} beyond the payload")
        if self.lengths is not None and n not in self.lengths:
            raise Malformed(f"{what}: length {n} not allowed")
        return list(reader.take(n, what))

    def encode(self, value):
        return write_varint(len(value)) + bytes(value)


class String:
    """3.4: varint byte length + UTF-8."""

    def decode(self, reader, what):
        n = reader.varint(what)
        if n > reader.left():
            raise Malformed(f"{what}: length {n} beyond the payload")
        raw = reader.take(n, what)
        try:
            return raw.decode("utf-8", errors="strict")
        except UnicodeDecodeError as error:
            raise Malformed(f"{what}: invalid UTF-8 ({error})")

    def encode(self, value):
        raw = value.encode("utf-8")
        return write_varint(len(raw)) + raw


class Float64:
    """3.6: IEEE 754 binary64, little-endian, finite only."""

    def decode(self, reader, what):
        (value,) = struct.unpack("<d", reader.take(8, what))
        if not math.isfinite(value):
            raise Malformed(f"{what}: not finite")
        return value

    def encode(self, value):
        return struct.pack("<d", float(value))


class Map:
    """3.7: varint pair count (<= bytes left / 2), then key/value strings, keys strictly ascending by UTF-8."""

    def decode(self, reader, what):
        count = reader.varint(what)
        if count > reader.left() // 2:
            raise Malformed(f"{what}: {count} pairs cannot fit in {reader.left()} bytes")
        result = {}
        previous = None
        for _ in range(count):
            key = STRING.decode(reader, what + ".key")
            value = STRING.decode(reader, what + ".value")
            if previous is not None and not previous < key.encode("utf-8"):
                raise Malformed(f"{what}: key {key!r} not strictly after the previous one")
            previous = key.encode("utf-8")
            result[key] = value
        return result

    def encode(self, value):
        pairs = sorted(value.items(), key=lambda pair: pair[0].encode("utf-8"))
        return write_varint(len(pairs)) + b"".join(STRING.encode(k) + STRING.encode(v) for k, v in pairs)


class List:
    """3.8: varint count (<= bytes left / m), then the elements."""

    def __init__(self, element, minimum_size):
        self.element = element
        self.minimum_size = minimum_size

    def decode(self, reader, what):
        count = reader.varint(what)
        if count > reader.left() // self.minimum_size:
            raise Malformed(f"{what}: {count} elements cannot fit in {reader.left()} bytes")
        return [self.element.decode(reader, f"{what}[{index}]") for index in range(count)]

    def encode(self, value):
        return write_varint(len(value)) + b"".join(self.element.encode(item) for item in value)


class Struct:
    """A message payload or a nested structure: its fields in wire order, nothing between them.

    `tail` is an optional trailing group (SPEC.md 5.28a): fields that follow the others only when the payload goes
    on, all of them or none; `absent` holds the values a payload without them means, and a group that holds exactly
    those values is malformed (a second form of the same message). Absent, its fields are absent from the result."""

    def __init__(self, *fields, check=None, tail=(), absent=None):
        self.fields = fields
        self.check = check
        self.tail = tail
        self.absent = absent or {}

    def decode(self, reader, what):
        result = {}
        for name, encoding in self.fields:
            result[name] = encoding.decode(reader, f"{what}.{name}")
        if self.tail and reader.left():
            group = {name: encoding.decode(reader, f"{what}.{name}") for name, encoding in self.tail}
            if all(group[name] == self.absent[name] for name in group):
                raise Malformed(f"{what}: a trailing group that holds only the values its absence means")
            result.update(group)
        if self.check:
            self.check(result, what)
        return result

    def encode(self, value):
        names = {name for name, _ in self.fields}
        tail = {name for name, _ in self.tail}
        if set(value) != names and set(value) != names | tail:
            raise ValueError(f"fields {sorted(value)} differ from {[name for name, _ in self.fields + self.tail]}")
        fields = self.fields + (self.tail if tail and tail <= set(value) else ())
        if tail and tail <= set(value) and all(value[name] == self.absent[name] for name in tail):
            raise ValueError(f"the trailing group {sorted(tail)} holds only the values its absence means")
        return b"".join(encoding.encode(value[name]) for name, encoding in fields)


STRING = String()
BYTES = Bytes()
MAP = Map()
REQUEST_ID = ("requestID", Varint(U64))
SHA256 = Fixed(32)
BOOLEAN = Byte({0, 1}, boolean=True)


class FixedList(List):
    """A list whose count must be exactly n."""

    def __init__(self, element, n):
        super().__init__(element, 1)
        self.n = n

    def decode(self, reader, what):
        values = super().decode(reader, what)
        if len(values) != self.n:
            raise Malformed(f"{what}: {len(values)} elements, expected {self.n}")
        return values


class BoundedList(List):
    """A list of at most `maximum` elements."""

    def __init__(self, element, minimum_size, maximum):
        super().__init__(element, minimum_size)
        self.maximum = maximum

    def decode(self, reader, what):
        values = super().decode(reader, what)
        if len(values) > self.maximum:
            raise Malformed(f"{what}: {len(values)} elements, at most {self.maximum}")
        return values


def counts_consistent(fields, what):
    if fields["errors"] > fields["queries"]:
        raise Malformed(f"{what}.errors: more than queries")
    if fields["correct"] > fields["labelled"]:
        raise Malformed(f"{what}.correct: more than labelled")


U32 = 2**32 - 1
HEALTH_ENTRY = Struct(
    ("model", STRING),
    ("version", Varint(INT31)),
    ("queries", Varint(U32)),
    ("errors", Varint(U32)),
    ("latency", FixedList(Varint(U32), 5)),
    ("confidence", FixedList(Varint(U32), 10)),
    ("labelled", Varint(U32)),
    ("correct", Varint(U32)),
    check=counts_consistent,
)


def at_least_one(field):
    def check(fields, what):
        if fields[field] < 1:
            raise Malformed(f"{what}.{field}: must be at least 1")

    return check


def offset_within_total(fields, what):
    if fields["offset"] > fields["totalBytes"]:
        raise Malformed(f"{what}.offset: beyond totalBytes")


def versions_ordered(fields, what):
    if fields["maximumVersion"] < fields["minimumVersion"]:
        raise Malformed(f"{what}: maximumVersion below minimumVersion")


# ---------------------------------------------------------------------------------------------------------------
# Messages (SPEC.md sections 4 and 5)

INSTALLED_MODEL = Struct(("name", STRING), ("version", Varint(INT31)), ("variant", STRING), ("sha256", SHA256))
DEVICE_SUMMARY = Struct(
    ("id", STRING),
    ("name", STRING),
    ("online", BOOLEAN),
    ("lastSeenMilliseconds", Varint(U64)),
    ("enrolledAtMilliseconds", Varint(U64)),
    ("labels", MAP),
    ("capabilities", MAP),
    ("software", STRING),
    ("installedModels", List(INSTALLED_MODEL, 35)),
)
EVENT_SUMMARY = Struct(
    ("sequence", Varint(U64)),
    ("atMilliseconds", Varint(U64)),
    ("deviceID", STRING),
    ("kind", STRING),
    ("detail", STRING),
)
DESIRED_MODEL = Struct(("model", STRING), ("manifest", BYTES), ("reason", STRING))
TRAINING_PARAMETERS = Struct(
    ("localEpochs", Varint(10000)),
    ("learningRate", Float64()),
    ("batchSize", Varint(1048576)),
    ("seed", Varint(U64)),
    ("quantize", BOOLEAN),
)

MESSAGES = {
    0x01: ("hello", Struct(
        ("minimumVersion", Varint(U16)),
        ("maximumVersion", Varint(U16)),
        ("role", Byte({0, 1})),
        ("software", STRING),
        ("maximumFrameLength", Varint(FRAME_LEN)),
        check=versions_ordered,
    )),
    0x02: ("helloAccept", Struct(
        ("version", Varint(U16)),
        ("maximumFrameLength", Varint(FRAME_LEN)),
        ("heartbeatIntervalMilliseconds", Varint(INT31)),
        ("offlineTimeoutMilliseconds", Varint(INT31)),
        ("nonce", Fixed(32)),
        ("serverTimeMilliseconds", Varint(U64)),
    )),
    0x03: ("enrol", Struct(
        ("token", STRING),
        ("publicKey", Fixed(32)),
        ("signature", Fixed(64)),
        ("name", STRING),
        ("labels", MAP),
        ("capabilities", MAP),
        ("software", STRING),
    )),
    0x04: ("authenticate", Struct(("deviceID", STRING), ("nonce", Fixed(32)), ("signature", Fixed(64)))),
    0x05: ("adminAuthenticate", Struct(("nonce", Fixed(32)), ("proof", Fixed(32)))),
    0x06: ("welcome", Struct(("deviceID", STRING), ("labels", MAP), ("releasePublicKey", Bytes({0, 32})))),
    0x07: ("error", Struct(REQUEST_ID, ("code", Varint(U16)), ("message", STRING))),
    0x08: ("busy", Struct(("retryAfterMilliseconds", Varint(INT31)), ("message", STRING))),  # 5.40
    0x10: ("heartbeat", Struct()),
    0x11: ("heartbeatAck", Struct()),
    0x12: ("stateReport", Struct(
        REQUEST_ID,
        ("software", STRING),
        ("capabilities", MAP),
        ("installedModels", List(INSTALLED_MODEL, 35)),
    )),
    0x13: ("ack", Struct(REQUEST_ID)),
    0x14: ("goodbye", Struct()),  # 5.11a
    0x20: ("createToken", Struct(
        REQUEST_ID,
        ("uses", Varint(INT31)),
        ("expiresInSeconds", Varint(INT31)),
        ("labels", MAP),
        check=at_least_one("uses"),
    )),
    0x21: ("tokenCreated", Struct(
        REQUEST_ID,
        ("tokenID", STRING),
        ("token", STRING),
        ("uses", Varint(INT31)),
        ("expiresAtMilliseconds", Varint(U64)),
    )),
    0x22: ("listDevices", Struct(REQUEST_ID, ("offset", Varint(INT31)), ("limit", Varint(INT31)))),
    0x23: ("deviceList", Struct(REQUEST_ID, ("total", Varint(INT31)), ("devices", List(DEVICE_SUMMARY, 9)))),
    0x24: ("listEvents", Struct(
        REQUEST_ID,
        ("deviceID", STRING),
        ("limit", Varint(INT31)),
        ("afterSequence", Varint(U64)),
    )),
    0x25: ("eventList", Struct(REQUEST_ID, ("events", List(EVENT_SUMMARY, 5)))),
    0x26: ("revokeToken", Struct(REQUEST_ID, ("tokenID", STRING))),  # 5.17a
    0x27: ("createAPIToken", Struct(  # 5.17b
        REQUEST_ID,
        ("scope", Byte({1, 2})),
        ("expiresInSeconds", Varint(INT31)),
    )),
    0x28: ("apiTokenCreated", Struct(  # 5.17c
        REQUEST_ID,
        ("tokenID", STRING),
        ("token", STRING),
        ("scope", Byte({1, 2})),
        ("expiresAtMilliseconds", Varint(U64)),
    )),
    0x29: ("revokeAPIToken", Struct(REQUEST_ID, ("tokenID", STRING))),  # 5.17d
    0x2A: ("removeDevice", Struct(REQUEST_ID, ("deviceID", STRING), ("erase", BOOLEAN))),  # 5.38
    0x2B: ("deviceRemoved", Struct(  # 5.39
        REQUEST_ID,
        ("deviceID", STRING),
        ("name", STRING),
        ("erased", BOOLEAN),
        ("sampleRows", Varint(INT31)),
        ("driftReports", Varint(INT31)),
        ("consentRecords", Varint(INT31)),
        ("otherRows", Varint(INT31)),
    )),
    0x30: ("desiredState", Struct(("models", List(DESIRED_MODEL, 3)))),
    0x31: ("fetchModel", Struct(
        REQUEST_ID,
        ("model", STRING),
        ("version", Varint(INT31)),
        ("variant", STRING),
        ("baseSHA256", BYTES),
        ("resumePayloadSHA256", BYTES),
        ("resumeOffset", Varint(INT63)),
    )),
    0x32: ("transferStart", Struct(
        REQUEST_ID,
        ("encoding", Byte({0, 1})),
        ("baseVersion", Varint(INT31)),
        ("totalBytes", Varint(INT63)),
        ("payloadSHA256", Fixed(32)),
        ("offset", Varint(INT63)),
        check=offset_within_total,
    )),
    0x33: ("transferChunk", Struct(REQUEST_ID, ("offset", Varint(INT63)), ("bytes", BYTES))),
    0x34: ("modelReport", Struct(
        REQUEST_ID,
        ("model", STRING),
        ("version", Varint(INT31)),
        ("variant", STRING),
        ("outcome", Byte({0, 1, 2})),
        ("code", STRING),
        ("detail", STRING),
        ("encoding", Byte({0, 1})),
        ("wireBytes", Varint(INT63)),
        ("resumedFrom", Varint(INT63)),
        ("reportID", Varint(U64)),
    )),
    0x38: ("modelKeyRequest", Struct(REQUEST_ID)),  # 5.22a
    0x39: ("modelKey", Struct(REQUEST_ID, ("key", Fixed(32)))),  # 5.22b
    0x40: ("uploadBegin", Struct(
        REQUEST_ID,
        ("model", STRING),
        ("version", Varint(INT31)),
        ("variant", STRING),
        ("size", Varint(INT63)),
        ("sha256", SHA256),
        ("requirements", MAP),
        ("metadata", MAP),
    )),
    0x41: ("uploadReady", Struct(REQUEST_ID, ("uploadID", STRING), ("offset", Varint(INT63)))),
    0x42: ("uploadChunk", Struct(REQUEST_ID, ("uploadID", STRING), ("offset", Varint(INT63)), ("bytes", BYTES))),
    # 5.26: the 512 KiB bound on referenceStatistics is error 300 (a refused value), not a decoding rule.
    0x43: ("uploadCommit", Struct(REQUEST_ID, ("uploadID", STRING), ("referenceStatistics", BYTES))),
    0x44: ("modelPushed", Struct(
        REQUEST_ID,
        ("model", STRING),
        ("version", Varint(INT31)),
        ("variant", STRING),
        ("assignedDevices", Varint(INT31)),
    )),
    0x45: ("pinModel", Struct(
        REQUEST_ID,
        ("model", STRING),
        ("deviceID", STRING),
        ("version", Varint(INT31)),
        ("rollback", BOOLEAN),
    )),
    0x46: ("startRollout", Struct(  # 5.28a
        REQUEST_ID,
        ("model", STRING),
        ("version", Varint(INT31)),
        ("variant", STRING),
        ("selector", MAP),
        ("waves", List(Varint(INT31), 1)),
        ("soakMilliseconds", Varint(INT63)),
        ("minimumDevicesPerWave", Varint(INT31)),
        ("maximumInstallFailurePercent", Float64()),
        ("autoRollback", BOOLEAN),
        ("seed", Varint(U64)),
        ("maximumErrorRateIncrease", Float64()),
        ("maximumAccuracyDrop", Float64()),
        ("maximumConfidenceDrop", Float64()),
        ("maximumDriftPSI", Float64()),
        ("gateMinimumDevices", Varint(INT31)),
        ("gateMinimumQueries", Varint(INT31)),
        tail=(
            ("maximumRestartIncrease", Float64()),
            ("maximumLatencyIncreasePercent", Float64()),
            ("deviceTimeoutMilliseconds", Varint(INT63)),
        ),
        absent={"maximumRestartIncrease": -1.0, "maximumLatencyIncreasePercent": -1.0, "deviceTimeoutMilliseconds": 0},
    )),
    0x47: ("rolloutStarted", Struct(  # 5.28b
        REQUEST_ID,
        ("rolloutID", Varint(INT63)),
        ("devices", Varint(INT31)),
        ("waves", Varint(INT31)),
        ("seed", Varint(U64)),
    )),
    0x48: ("controlRollout", Struct(REQUEST_ID, ("rolloutID", Varint(INT63)), ("action", Byte({1, 2, 3, 4})))),  # 5.28c
    0x49: ("holdVersion", Struct(  # 5.28d
        REQUEST_ID, ("model", STRING), ("version", Varint(INT31)), check=at_least_one("version"),
    )),
    0x50: ("trainTask", Struct(
        REQUEST_ID,
        ("round", Varint(INT31)),
        ("model", STRING),
        ("baseVersion", Varint(INT31)),
        ("variant", STRING),
        ("baseSHA256", SHA256),
        ("parameters", TRAINING_PARAMETERS),
        ("deadlineMilliseconds", Varint(INT31)),
        ("personalPrefix", STRING),
    )),
    0x51: ("trainUpdate", Struct(
        REQUEST_ID,
        ("round", Varint(INT31)),
        ("sampleCount", Varint(INT31)),
        ("metrics", MAP),
        ("encoding", Byte({0, 1})),
        ("payload", BYTES),
    )),
    0x52: ("startRound", Struct(
        REQUEST_ID,
        ("model", STRING),
        ("variant", STRING),
        ("clients", Varint(1000000)),
        ("minimumClients", Varint(1000000)),
        ("deadlineMilliseconds", Varint(INT31)),
        ("parameters", TRAINING_PARAMETERS),
        ("strategy", STRING),
        ("rounds", Varint(100000)),
        ("hierarchical", BOOLEAN),
        ("personalPrefix", STRING),
        ("evaluationCSV", BYTES),
    )),
    0x53: ("roundStarted", Struct(REQUEST_ID, ("firstRound", Varint(INT31)), ("rounds", Varint(INT31)))),
    0x54: ("initModel", Struct(
        REQUEST_ID,
        ("model", STRING),
        ("variant", STRING),
        ("architecture", STRING),
        ("layers", List(Varint(65536), 1)),
        ("seed", Varint(U64)),
        ("metadata", MAP),
    )),
    0x60: ("consentUpdate", Struct(REQUEST_ID, ("record", BYTES))),
    0x61: ("sampleBatch", Struct(
        REQUEST_ID,
        ("idempotencyKey", STRING),
        ("model", STRING),
        ("count", Varint(1000000)),
        ("compressedCSV", BYTES),
    )),
    0x62: ("driftReport", Struct(REQUEST_ID, ("model", STRING), ("version", Varint(INT31)), ("summary", BYTES))),
    0x63: ("referenceStatistics", Struct(
        REQUEST_ID,
        ("model", STRING),
        ("version", Varint(INT31)),
        ("statistics", BYTES),
    )),
    0x64: ("healthSummary", Struct(  # 5.52
        REQUEST_ID,
        ("windowMilliseconds", Varint(86400000)),
        ("starts", Varint(1000000)),
        ("entries", BoundedList(HEALTH_ENTRY, 20, 32)),
    )),
    # 15a: metering. Signed grants and receipts travel as opaque byte fields (METERING.md).
    0x70: ("grantQuota", Struct(
        REQUEST_ID,
        ("device", STRING),
        ("selector", MAP),
        ("model", STRING),
        ("action", Byte({0, 1})),
        ("queries", Varint(U64)),
        ("expiresInSeconds", Varint(INT31)),
        ("priceMicros", Varint(U64)),
        ("currency", STRING),
        ("ratePerSecond", Varint(INT31)),
        ("offlineGrace", Varint(INT31)),
        ("cloudPriceMicros", Varint(U64)),
    )),
    0x71: ("quotaGranted", Struct(REQUEST_ID, ("grants", List(BYTES, 1)))),
    0x72: ("quotaGrants", Struct(REQUEST_ID, ("grants", List(BYTES, 1)))),
    0x73: ("quotaSync", Struct(REQUEST_ID, ("afterSequence", Varint(U64)))),
    0x74: ("usageReport", Struct(REQUEST_ID, ("receipts", List(BYTES, 1)))),
    0x75: ("offloadInfer", Struct(REQUEST_ID, ("model", STRING), ("rows", List(List(Float64(), 8), 1)))),
    0x76: ("offloadResult", Struct(
        REQUEST_ID,
        ("version", Varint(INT31)),
        ("predictions", List(Varint(INT31), 1)),
        ("confidences", List(Float64(), 8)),
    )),
    0x80: ("gatewayClaim", Struct(("gatewayID", STRING), ("nonce", Fixed(32)), ("signature", Fixed(64)))),  # 15b.2
    0x81: ("listGateways", Struct(REQUEST_ID, ("offset", Varint(INT31)), ("limit", Varint(INT31)))),  # 15b.3
    0x82: ("gatewayList", Struct(  # 15b.3
        REQUEST_ID,
        ("total", Varint(INT31)),
        ("entries", List(Struct(("deviceID", STRING), ("gatewayID", STRING)), 2)),
    )),
}


# ---------------------------------------------------------------------------------------------------------------
# Frames (SPEC.md section 2)

def decode_frame(frame):
    """Returns (type byte, name, fields) of one whole frame; raises Malformed on any violation."""
    if len(frame) < 4:
        raise Malformed("frame shorter than its length prefix")
    (length,) = struct.unpack(">I", frame[:4])
    if length == 0:
        raise Malformed("L = 0")
    if length > FRAME_LEN:
        raise Malformed(f"L = {length} above every negotiable maximum")
    if len(frame) != 4 + length:
        raise Malformed(f"L = {length} but the frame holds {len(frame) - 4} bytes after the prefix")
    type_byte = frame[4]
    if type_byte not in MESSAGES:
        raise Malformed(f"unknown type 0x{type_byte:02x}")
    name, layout = MESSAGES[type_byte]
    reader = Reader(frame[5:])
    fields = layout.decode(reader, name)
    if reader.left():
        raise Malformed(f"{name}: {reader.left()} trailing bytes")
    return type_byte, name, fields


def encode_frame(type_byte, fields):
    payload = MESSAGES[type_byte][1].encode(fields)
    return struct.pack(">I", 1 + len(payload)) + bytes([type_byte]) + payload


# ---------------------------------------------------------------------------------------------------------------
# Checks

VARINT_EXAMPLES = [  # SPEC.md 3.1
    (0, "00"), (1, "01"), (127, "7f"), (128, "8001"), (300, "ac02"), (10000, "904e"), (30000, "b0ea01"),
    (1048576, "808040"), (1795000000000, "80bcd9f29e34"), (2**62 + 7, "878080808080808040"),
    (2**63 - 1, "ffffffffffffffff7f"), (2**64 - 1, "ffffffffffffffffff01"),
]
MALFORMED_VARINTS = [  # SPEC.md 3.1: over-long forms, more than 64 bits, truncated
    "8000", "8100", "ff00", "ffffffffffffffffff02", "ffffffffffffffffff8001", "80808080808080808080", "80", "",
]


def check_varints():
    failures = []
    for value, hex_bytes in VARINT_EXAMPLES:
        if write_varint(value).hex() != hex_bytes:
            failures.append(f"varint {value}: encodes to {write_varint(value).hex()}, SPEC says {hex_bytes}")
        reader = Reader(bytes.fromhex(hex_bytes))
        if reader.varint("example") != value or reader.left():
            failures.append(f"varint {hex_bytes}: does not decode to {value}")
    for hex_bytes in MALFORMED_VARINTS:
        try:
            Reader(bytes.fromhex(hex_bytes)).varint("malformed")
            failures.append(f"varint {hex_bytes or '(empty)'}: accepted, SPEC says malformed")
        except Malformed:
            pass
    return failures


def same(expected, actual):
    """Deep equality where JSON numbers and Python values of the same meaning compare equal."""
    if isinstance(expected, bool) or isinstance(actual, bool):
        return isinstance(expected, bool) and isinstance(actual, bool) and expected == actual
    if isinstance(expected, dict) and isinstance(actual, dict):
        return expected.keys() == actual.keys() and all(same(expected[k], actual[k]) for k in expected)
    if isinstance(expected, list) and isinstance(actual, list):
        return len(expected) == len(actual) and all(same(e, a) for e, a in zip(expected, actual))
    if isinstance(expected, float) or isinstance(actual, float):
        return float(expected) == float(actual)
    return type(expected) is type(actual) and expected == actual


def check_vector(path):
    with open(path, encoding="utf-8") as file:
        vector = json.load(file)
    name = vector["name"]
    frame = bytes.fromhex(vector["frameHex"])
    try:
        type_byte, message_name, fields = decode_frame(frame)
    except Malformed as error:
        return [f"{name}: frameHex does not decode: {error}"]
    failures = []
    if type_byte != vector["type"]:
        failures.append(f"{name}: type byte {type_byte}, vector says {vector['type']}")
    if message_name != vector["message"]["type"]:
        failures.append(f"{name}: type 0x{type_byte:02x} is {message_name}, vector says {vector['message']['type']}")
    if not same(vector["message"]["fields"], fields):
        failures.append(f"{name}: decoded fields {fields} differ from the vector's {vector['message']['fields']}")
    try:
        encoded = encode_frame(vector["type"], vector["message"]["fields"]).hex()
    except (KeyError, ValueError, TypeError) as error:
        return failures + [f"{name}: fields do not encode: {error}"]
    if encoded != vector["frameHex"]:
        failures.append(f"{name}: fields encode to {encoded}, vector says {vector['frameHex']}")
    return failures


def main(arguments):
    directory = arguments[1] if len(arguments) > 1 else os.path.join(os.path.dirname(__file__), "..", "vectors")
    failures = check_varints()
    files = sorted(entry for entry in os.listdir(directory) if entry.endswith(".json"))
    types = set()
    for entry in files:
        vector_failures = check_vector(os.path.join(directory, entry))
        failures += vector_failures
        if not vector_failures:
            with open(os.path.join(directory, entry), encoding="utf-8") as file:
                types.add(json.load(file)["type"])
            print(f"ok {entry}")
    missing = sorted(set(MESSAGES) - types)
    if missing and not failures:
        failures.append("no passing vector for type(s) " + ", ".join(f"0x{t:02x}" for t in missing))
    for failure in failures:
        print("FAIL " + failure)
    print(f"{len(files)} vectors, {len(types)} message types, {len(failures)} failure(s)")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))

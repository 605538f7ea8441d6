#!/usr/bin/env python3
"""A dishonest carrier between the leaf (QEMU's UART) and the gateway's leaf port, for Examples/mcu-qemu/attacks.sh.

    relay.py LISTEN_PORT GATEWAY_PORT MODE_FILE

Passes the leaf's frames through unchanged, except that each transferChunk is re-cut into chunks of at most 1 KiB
(as a gateway serving a leaf with 1 KiB frames would send them; the leaf installs a frame only once it is whole, so
a transfer then reaches its flash in steps that a power cut can fall between). Frames from the gateway (SPEC.md section 2: a 4-byte big-endian length,
the type, the payload) are altered as MODE_FILE says when each one arrives:
  pass       unchanged; the first manifest a desiredState carries is remembered (the replay's material);
  signature  every manifest in a desiredState (0x30) has its last byte flipped;
  payload    each transfer (transferStart 0x32 and its transferChunks 0x33) is held until complete, one payload
             byte in the middle is flipped, and transferStart's payloadSHA256 is replaced by the SHA-256 of the
             altered payload, so that the leaf's transport check passes and only its install checks remain;
  replay     every manifest in a desiredState is replaced by the remembered one (an older, genuinely signed release);
  cut K      as pass, but once the K-th 1 KiB chunk of a transfer is sent, nothing more goes to the leaf and the file
             MODE_FILE.cut is written: powercut.sh then kills QEMU, which may still be installing that chunk.
Prints one line per altered frame on stdout.
"""
import hashlib
import socket
import sys
import threading
import time

MODE_FILE = sys.argv[3]
remembered = None


def mode():
    with open(MODE_FILE) as f:
        return f.read().strip()


def varint(data, at):
    value, shift = 0, 0
    while True:
        byte = data[at]
        at += 1
        value |= (byte & 0x7F) << shift
        shift += 7
        if byte < 0x80:
            return value, at


def encode_varint(value):
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        out.append(byte | (0x80 if value else 0))
        if not value:
            return bytes(out)


def frame(kind, payload):
    return (len(payload) + 1).to_bytes(4, "big") + bytes([kind]) + payload


def desired_state(payload, current):
    """The desiredState payload with its manifests flipped or replaced (model, manifest, reason per entry)."""
    global remembered
    count, at = varint(payload, 0)
    out = bytearray(encode_varint(count))
    for _ in range(count):
        fields = []
        for _ in range(3):
            length, start = varint(payload, at)
            fields.append(bytearray(payload[start : start + length]))
            at = start + length
        manifest = fields[1]
        if manifest:
            if remembered is None:
                remembered = bytes(manifest)
            if current == "signature":
                manifest[-1] ^= 0x01
                print("relay: flipped the last byte of a manifest", flush=True)
            elif current == "replay":
                fields[1] = bytearray(remembered)
                print("relay: replayed the first manifest seen", flush=True)
        for field in fields:
            out += encode_varint(len(field)) + field
    return bytes(out)


def tamper_transfer(start, chunks):
    """transferStart and its chunks with one payload byte flipped and the payload SHA-256 made to match."""
    request, at = varint(start, 0)
    at += 1  # encoding
    _, at = varint(start, at)  # baseVersion
    total, at = varint(start, at)
    sha_at = at
    pieces = []
    for chunk in chunks:
        _, at = varint(chunk, 0)
        _, at = varint(chunk, at)
        length, data_at = varint(chunk, at)
        pieces.append((data_at, length))
    payload = bytearray(b"".join(bytes(c[d : d + n]) for c, (d, n) in zip(chunks, pieces)))
    target = len(payload) // 2
    payload[target] ^= 0x5A
    altered_start = bytearray(start)
    altered_start[sha_at : sha_at + 32] = hashlib.sha256(payload).digest()
    altered_chunks, offset = [], 0
    for chunk, (data_at, length) in zip(chunks, pieces):
        chunk = bytearray(chunk)
        chunk[data_at : data_at + length] = payload[offset : offset + length]
        offset += length
        altered_chunks.append(bytes(chunk))
    # What the leaf will hash: the altered chunks' bytes, which must match the new payloadSHA256.
    sent = b"".join(c[d : d + n] for c, (d, n) in zip(altered_chunks, pieces))
    assert len(sent) == total and hashlib.sha256(sent).digest() == bytes(altered_start[sha_at : sha_at + 32])
    print(f"relay: flipped payload byte {target} of {total}; transferStart's payloadSHA256 matches it", flush=True)
    return bytes(altered_start), altered_chunks


def small_chunks(payload):
    """A transferChunk payload (requestID, offset, bytes) as chunks of at most 1 KiB, in order."""
    request, at = varint(payload, 0)
    offset, at = varint(payload, at)
    length, at = varint(payload, at)
    data = payload[at : at + length]
    for start in range(0, max(len(data), 1), 1024):
        piece = data[start : start + 1024]
        yield encode_varint(request) + encode_varint(offset + start) + encode_varint(len(piece)) + piece


def from_gateway(gateway, leaf):
    buffer = bytearray()
    held = None  # (transferStart payload, total, [chunk payloads], bytes so far)
    chunks_sent = 0  # 1 KiB chunks sent to the leaf since the last transferStart
    stopped = False  # "cut K" reached: nothing more goes to the leaf
    while True:
        data = gateway.recv(65536)
        if not data:
            break
        buffer += data
        while len(buffer) >= 4 and len(buffer) >= 4 + int.from_bytes(buffer[:4], "big"):
            length = int.from_bytes(buffer[:4], "big")
            kind, payload = buffer[4], bytes(buffer[5 : 4 + length])
            del buffer[: 4 + length]
            current = mode()
            if stopped:
                continue
            if kind == 0x30:
                leaf.sendall(frame(kind, desired_state(payload, current)))
            elif kind == 0x32 and current == "payload":
                _, at = varint(payload, 0)
                _, at = varint(payload, at + 1)
                total, _ = varint(payload, at)
                held = [payload, total, [], 0]
            elif kind == 0x33 and held is not None:
                _, at = varint(payload, 0)
                _, at = varint(payload, at)
                length_bytes, _ = varint(payload, at)
                held[2].append(payload)
                held[3] += length_bytes
                if held[3] >= held[1]:
                    start, chunks = tamper_transfer(held[0], held[2])
                    leaf.sendall(frame(0x32, start) + b"".join(frame(0x33, c) for c in chunks))
                    held = None
            elif kind == 0x33:
                for piece in small_chunks(payload):
                    leaf.sendall(frame(0x33, piece))
                    chunks_sent += 1
                    if current.startswith("cut ") and chunks_sent == int(current.split()[1]):
                        stopped = True
                        with open(MODE_FILE + ".cut", "w") as f:
                            f.write(f"{chunks_sent}\n")
                        print(f"relay: stopped after chunk {chunks_sent} of a transfer", flush=True)
                        break
            else:
                if kind == 0x32:
                    chunks_sent = 0
                leaf.sendall(frame(kind, payload))


def from_leaf(leaf, gateway):
    while True:
        data = leaf.recv(65536)
        if not data:
            break
        gateway.sendall(data)


def quietly(direction, source, destination):
    """Runs one direction until either side closes or resets (QEMU killed: the normal end here)."""
    try:
        direction(source, destination)
    except OSError:
        pass


def serve(leaf, gateway_port):
    gateway = socket.create_connection(("127.0.0.1", gateway_port))
    for sock in (leaf, gateway):
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    threads = [
        threading.Thread(target=quietly, args=(from_gateway, gateway, leaf), daemon=True),
        threading.Thread(target=quietly, args=(from_leaf, leaf, gateway), daemon=True),
    ]
    for thread in threads:
        thread.start()
    try:
        while all(thread.is_alive() for thread in threads):
            threads[0].join(0.2)
    finally:
        for sock in (leaf, gateway):
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            sock.close()


def main():
    listen_port, gateway_port = int(sys.argv[1]), int(sys.argv[2])
    server = socket.socket()
    server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    server.bind(("127.0.0.1", listen_port))
    server.listen(4)
    print(f"relay: listening on {listen_port}, gateway {gateway_port}", flush=True)
    while True:
        leaf, _ = server.accept()
        threading.Thread(target=serve, args=(leaf, gateway_port), daemon=True).start()


if __name__ == "__main__":
    main()

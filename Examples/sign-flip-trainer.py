#!/usr/bin/env python3
"""A poisoning trainer plug-in for robustness drills: fleet-agent --trainer-command "python3 sign-flip-trainer.py
FLEET_AGENT [FACTOR [SAMPLE_COUNT]]".

It trains honestly with `FLEET_AGENT train` on the device's rows, then writes base + FACTOR * (trained - base)
(default FACTOR -10: the update sign-flipped and scaled ten times; `nan`, `inf` or `1e30` make broken updates) to
$TINYFLEET_MODEL_OUT, and reports SAMPLE_COUNT training rows when given (a device lying about its weight). The
agent itself is unchanged: it uploads whatever its plug-in wrote, as a compromised device would. Standard library
only."""
import json
import os
import struct
import subprocess
import sys
from array import array


def read_safetensors(path):
    raw = open(path, "rb").read()
    if len(raw) < 8:
        sys.exit(f"{path}: not a safetensors file")
    (size,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8:8 + size])
    return raw[:8 + size], header, raw[8 + size:]


def main():
    if len(sys.argv) not in (2, 3, 4):
        sys.exit("usage: sign-flip-trainer.py FLEET_AGENT [FACTOR [SAMPLE_COUNT]]")
    agent = sys.argv[1]
    factor = float(sys.argv[2]) if len(sys.argv) >= 3 else -10.0
    claimed = int(sys.argv[3]) if len(sys.argv) == 4 else None
    env = os.environ
    honest_path = env["TINYFLEET_MODEL_OUT"] + ".honest"
    trained = subprocess.run(
        [agent, "train", "--model-in", env["TINYFLEET_MODEL_IN"], "--model-out", honest_path,
         "--data", env["TINYFLEET_DATA"], "--epochs", env["TINYFLEET_EPOCHS"], "--lr", env["TINYFLEET_LR"],
         "--batch-size", env["TINYFLEET_BATCH_SIZE"], "--seed", env["TINYFLEET_SEED"],
         "--round", env["TINYFLEET_ROUND"]],
        check=True, capture_output=True, text=True,
    ).stdout
    _, base_header, base_data = read_safetensors(env["TINYFLEET_MODEL_IN"])
    prefix, header, data = read_safetensors(honest_path)
    os.remove(honest_path)
    out = bytearray(data)
    for name, tensor in header.items():
        if name == "__metadata__":
            continue
        if tensor["dtype"] != "F32" or base_header.get(name, {}).get("shape") != tensor["shape"]:
            sys.exit(f"{name}: expected an F32 tensor shaped as in the base")
        lo, hi = tensor["data_offsets"]
        blo, bhi = base_header[name]["data_offsets"]
        new, old = array("f"), array("f")
        new.frombytes(data[lo:hi])
        old.frombytes(base_data[blo:bhi])
        if sys.byteorder != "little":
            new.byteswap()
            old.byteswap()
        poisoned = array("f", (b + factor * (n - b) for n, b in zip(new, old)))
        if sys.byteorder != "little":
            poisoned.byteswap()
        out[lo:hi] = poisoned.tobytes()
    with open(env["TINYFLEET_MODEL_OUT"], "wb") as file:
        file.write(prefix + bytes(out))
    # The honest metrics line (a plausible sample count and loss), or the claimed sample count.
    metrics = json.loads(trained.strip().splitlines()[-1])
    if claimed is not None:
        metrics["sampleCount"] = claimed
    print(json.dumps(metrics))


if __name__ == "__main__":
    main()

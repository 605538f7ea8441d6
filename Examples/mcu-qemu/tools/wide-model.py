#!/usr/bin/env python3
"""A seeded pair of ~1 MB int8 MLPs for the leaf firmware (widemodel.sh), Python standard library only.

    wide-model.py OUT_DIR [--seed N] [--digits FILE]

Writes OUT_DIR/wide-mlp-v1-int8.safetensors and OUT_DIR/wide-mlp-v2-int8.safetensors: the digits int8 MLP's format
and naming (`fcK.weight` I8 [out, in], `fcK.weight_scale` F32 scalar, `fcK.bias` I8 [out], `fcK.bias_scale`, in that
order, as Tests/FleetDeltaTests/Fixtures/digits-mlp-v1-int8.safetensors), 64 inputs and 10 classes like digits, with
six layers 64 -> 496 -> 496 -> 496 -> 496 -> 496 -> 10 (1,025,242 bytes; TinyModelLayout takes at most 8 layers, and a
widest layer of 496 keeps the firmware's inference scratch at 2 x 512 floats). The digits v1 model (--digits, the
fixture by default) is embedded so that the wide model classifies digit rows as digits v1 does: fc1's first 256 rows
are digits' fc1, fc2 ... fc4 pass those 256 units through (127 on the diagonal at scale 1/127, zeros from the other
units), fc5's first 128 rows are digits' fc2 and fc6 is digits' fc3 (zeros for the other units' columns). Every other
weight and bias is a seeded random int8: units that are computed but never reach the output. v2 is a fine-tune-like
change of v1: 2% of the nonzero weights (seeded) move by one step, no zero becomes nonzero (so the embedded digits
path stays exact). The same seed gives the same bytes, on any machine.
"""
import argparse, json, random, struct, sys
from pathlib import Path

WIDTH, INPUTS, CLASSES = 496, 64, 10


def read_safetensors(path):
    data = Path(path).read_bytes()
    (length,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + length])
    body = data[8 + length:]
    tensors = {}
    for name, entry in header.items():
        if name == "__metadata__":
            continue
        begin, end = entry["data_offsets"]
        raw = body[begin:end]
        if entry["dtype"] == "I8":
            tensors[name] = (entry["shape"], [b - 256 if b > 127 else b for b in raw])
        else:
            tensors[name] = (entry["shape"], struct.unpack("<f", raw)[0])
    return tensors


def write_safetensors(path, layers, source):
    """layers: [(weights rows x columns as one flat list, rows, columns, weight scale, biases, bias scale)]."""
    header, body = {}, bytearray()

    def add(name, dtype, shape, raw):
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [len(body), len(body) + len(raw)]}
        body.extend(raw)

    for index, (weights, rows, columns, weight_scale, biases, bias_scale) in enumerate(layers, 1):
        add(f"fc{index}.weight", "I8", [rows, columns], bytes(w & 0xFF for w in weights))
        add(f"fc{index}.weight_scale", "F32", [], struct.pack("<f", weight_scale))
        add(f"fc{index}.bias", "I8", [rows], bytes(b & 0xFF for b in biases))
        add(f"fc{index}.bias_scale", "F32", [], struct.pack("<f", bias_scale))
    header["__metadata__"] = {"architecture": "mlp", "activation": "relu", "output": "softmax", "variant": "int8",
                              "source": source}
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    Path(path).write_bytes(struct.pack("<Q", len(text)) + text + bytes(body))


def int8s(rng, count):
    return [b - 256 if b > 127 else b for b in rng.randbytes(count)]


def wide_v1(digits, rng):
    def real(layer):
        (rows, columns), weights = digits[f"fc{layer}.weight"]
        return rows, columns, weights, digits[f"fc{layer}.weight_scale"][1], digits[f"fc{layer}.bias"][1], \
            digits[f"fc{layer}.bias_scale"][1]

    def embed(layer, inputs, outputs):
        """A layer of `outputs` x `inputs` whose top-left block is digits' fcLAYER, the rows below it random and the
        columns beside it zero (the random units never feed a digits unit)."""
        rows, columns, weights, weight_scale, biases, bias_scale = real(layer)
        flat = []
        for row in range(outputs):
            if row < rows:
                flat += weights[row * columns:(row + 1) * columns] + [0] * (inputs - columns)
            else:
                flat += [max(-127, w) for w in int8s(rng, inputs)]
        return flat, outputs, inputs, weight_scale, biases + int8s(rng, outputs - rows), bias_scale

    def passthrough(units):
        flat = []
        for row in range(WIDTH):
            if row < units:
                flat += [127 if column == row else 0 for column in range(WIDTH)]
            else:
                flat += [max(-127, w) for w in int8s(rng, WIDTH)]
        return flat, WIDTH, WIDTH, 1 / 127, [0] * units + int8s(rng, WIDTH - units), 1 / 127

    hidden = digits["fc1.weight"][0][0]
    assert digits["fc1.weight"][0][1] == INPUTS and digits["fc3.weight"][0][0] == CLASSES and hidden <= WIDTH
    return [embed(1, INPUTS, WIDTH), passthrough(hidden), passthrough(hidden), passthrough(hidden),
            embed(2, WIDTH, WIDTH), embed(3, WIDTH, CLASSES)]


def fine_tune(layers, rng, fraction=0.02):
    tuned = []
    for weights, rows, columns, weight_scale, biases, bias_scale in layers:
        weights = list(weights)
        for index, w in enumerate(weights):
            if w != 0 and rng.random() < fraction:
                step = rng.choice((-1, 1))
                # A step never makes a zero (the digits path stays exact) and stays within -127 ... 127.
                weights[index] = w - step if w + step == 0 or abs(w + step) > 127 else w + step
        tuned.append((weights, rows, columns, weight_scale, biases, bias_scale))
    return tuned


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("out_dir")
    parser.add_argument("--seed", type=int, default=10)
    parser.add_argument("--digits", default=str(Path(__file__).resolve().parents[3] /
                                                "Tests/FleetDeltaTests/Fixtures/digits-mlp-v1-int8.safetensors"))
    args = parser.parse_args()
    rng = random.Random(args.seed)
    v1 = wide_v1(read_safetensors(args.digits), rng)
    v2 = fine_tune(v1, rng)
    out = Path(args.out_dir)
    out.mkdir(parents=True, exist_ok=True)
    for version, layers in ((1, v1), (2, v2)):
        path = out / f"wide-mlp-v{version}-int8.safetensors"
        write_safetensors(path, layers, f"wide_v{version}_int8_seed{args.seed}")
        print(path, path.stat().st_size)


if __name__ == "__main__":
    sys.exit(main())

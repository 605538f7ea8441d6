#!/usr/bin/env python3
"""Edge vs cloud latency of one digits inference (issue 11): a coordinator and one agent on 127.0.0.1, the digits
model pushed, then N inferences of one row through the agent's local socket, run on the device (`offload: never`)
and on the coordinator (`offload: always`), interleaved; prints p50 and p99 of each in milliseconds.

    python3 Benchmarks/offload_latency.py [--bin DIR] [--requests 500]

DIR holds fleet-coordinator, fleet-agent and fleetctl (default: `swift build --show-bin-path`; build with
`-c release` for figures worth quoting). Every process started is stopped, also on failure."""
import argparse, json, os, shutil, socket, subprocess, sys, tempfile, time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MODEL = os.path.join(ROOT, "Tests/FleetDeltaTests/Fixtures/digits-mlp-v1-fp32.safetensors")


def request(path, obj):
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.connect(path)
        s.sendall((json.dumps(obj) + "\n").encode())
        data = b""
        while not data.endswith(b"\n"):
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
    return json.loads(data)


def wait(condition, seconds, what):
    deadline = time.time() + seconds
    while time.time() < deadline:
        try:
            if condition():
                return
        except (OSError, ValueError):
            pass
        time.sleep(0.2)
    raise SystemExit(f"timed out waiting for {what}")


def percentile(values, p):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--bin")
    parser.add_argument("--requests", type=int, default=500)
    args = parser.parse_args()
    binaries = args.bin or subprocess.run(
        ["swift", "build", "--show-bin-path"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.strip()
    work = tempfile.mkdtemp(prefix="offload-latency-")
    processes = []
    try:
        coordinator_dir = os.path.join(work, "coordinator")
        processes.append(subprocess.Popen(
            [f"{binaries}/fleet-coordinator", "--data-dir", coordinator_dir, "--listen", "127.0.0.1:0"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        endpoint = os.path.join(coordinator_dir, "coordinator.json")
        wait(lambda: os.path.exists(endpoint), 20, "the coordinator")
        port = json.load(open(endpoint))["port"]

        def fleetctl(*arguments):
            return subprocess.run([f"{binaries}/fleetctl", *arguments, "--data-dir", coordinator_dir],
                                  capture_output=True, text=True, check=True).stdout
        token = json.loads(fleetctl("token", "create", "--json"))["token"]
        sock = os.path.join(work, "agent.sock")
        processes.append(subprocess.Popen(
            [f"{binaries}/fleet-agent", "--data-dir", os.path.join(work, "agent"), "--coordinator",
             f"127.0.0.1:{port}", "--token", token, "--name", "bench", "--local-socket", sock],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        fleetctl("model", "push", "digits-mlp", "--version", "1", "--variant", "fp32", "--file", MODEL)
        row = [0.25] * 64
        wait(lambda: request(sock, {"op": "infer", "model": "digits-mlp", "rows": [row]})["ok"], 60, "the model")
        timings = {"never": [], "always": []}
        for _ in range(args.requests):
            for mode in ("never", "always"):
                start = time.perf_counter()
                answer = request(sock, {"op": "infer", "model": "digits-mlp", "rows": [row], "offload": mode})
                elapsed = (time.perf_counter() - start) * 1000
                if not answer.get("ok"):
                    raise SystemExit(f"{mode}: {answer}")
                timings[mode].append(elapsed)
        for mode, label in (("never", "edge (local socket)"), ("always", "cloud (offloaded over loopback)")):
            values = timings[mode]
            print(f"{label:34s} p50 {percentile(values, 50):7.2f} ms   p99 {percentile(values, 99):7.2f} ms")
        print(f"{args.requests} requests of one row each, interleaved, via the agent's socket")
    finally:
        for process in reversed(processes):
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())

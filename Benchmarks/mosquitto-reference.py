#!/usr/bin/env python3
"""Measures mosquitto live with the same method as `fleet-bench coordinator`, so the ratios come from one run.

N MQTT clients (real TCP on 127.0.0.1, MQTT 3.1.1, keepalive = the ping interval) connect to a fresh mosquitto,
then each sends PINGREQ every interval, client k at phase k/n of the interval; PINGREQ -> PINGRESP round trips
sent in the measured window are reported with the broker's RSS per connection and CPU (from /proc), in the
same table layout as the coordinator benchmark. The clients are split over processes of at most 10,000
connections (one process holds at most ~19,990 sockets here). Needs `apt-get install -y mosquitto`.

Usage: python3 Benchmarks/mosquitto-reference.py [--counts 19900] [--interval 10] [--warmup 15] [--measure 30]
                                                [--client swift|python] [--fleet-bench PATH]
The default client is `fleet-bench load-gen --mqtt` (the same Swift load generator, event loop and round-trip
histogram as the coordinator benchmark), so round trips compare like for like. `--client python` uses asyncio
clients instead (slower: their round trips include more client time; the broker's RSS and CPU do not change).
"""
import argparse
import asyncio
import json
import os
import resource
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

PINGREQ = b"\xc0\x00"
PINGRESP = b"\xd0\x00"


def connect_packet(client_id: str, keepalive: int) -> bytes:
    ident = client_id.encode()
    variable = b"\x00\x04MQTT\x04\x02" + keepalive.to_bytes(2, "big")  # protocol level 4, clean session
    payload = len(ident).to_bytes(2, "big") + ident
    remaining = len(variable) + len(payload)
    assert remaining < 128
    return bytes([0x10, remaining]) + variable + payload


class Client(asyncio.Protocol):
    def __init__(self, worker, index):
        self.worker = worker
        self.index = index
        self.buffer = b""
        self.connected = asyncio.get_running_loop().create_future()
        self.sent = []
        self.transport = None
        self.ready = False

    def connection_made(self, transport):
        self.transport = transport
        sock = transport.get_extra_info("socket")
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        transport.write(connect_packet(f"bench-{self.worker.first + self.index}", self.worker.keepalive))

    def data_received(self, data):
        now = time.perf_counter_ns()
        self.buffer += data
        while len(self.buffer) >= 2:
            kind = self.buffer[0]
            length = self.buffer[1]
            if len(self.buffer) < 2 + length:
                return
            self.buffer = self.buffer[2 + length :]
            if kind == 0x20:  # CONNACK
                if not self.connected.done():
                    self.connected.set_result(True)
            elif kind == 0xD0 and self.sent:
                self.worker.record(self.sent.pop(0), now)

    def connection_lost(self, exc):
        if not self.connected.done():
            self.connected.set_result(False)
        elif self.ready:
            self.worker.closed_after_ready += 1
        self.ready = False

    def ping(self):
        if self.ready and self.transport and not self.transport.is_closing():
            self.sent.append(time.perf_counter_ns())
            self.worker.pings += 1
            self.transport.write(PINGREQ)


class Worker:
    def __init__(self, args):
        self.args = args
        self.first = args.first
        self.keepalive = max(1, int(round(args.interval * 1.5)))
        self.samples = []
        self.tail = []
        self.pings = 0
        self.acks = 0
        self.failures = {}
        self.closed_after_ready = 0
        self.measure_start = float("inf")
        self.measure_end = float("inf")

    def record(self, sent, now):
        self.acks += 1
        if self.measure_start <= sent < self.measure_end:
            self.samples.append(now - sent)

    async def open(self, index, gate):
        async with gate:
            loop = asyncio.get_running_loop()
            try:
                _, client = await asyncio.wait_for(
                    loop.create_connection(lambda: Client(self, index), "127.0.0.1", self.args.port), 10
                )
                ok = await asyncio.wait_for(client.connected, 20)
            except Exception as error:  # noqa: BLE001 - every failure is counted by kind
                kind = f"connect: {type(error).__name__}"
                self.failures[kind] = self.failures.get(kind, 0) + 1
                return None
            if not ok:
                self.failures["closed-in-handshake"] = self.failures.get("closed-in-handshake", 0) + 1
                return None
            client.ready = True
            return client

    async def run(self):
        gate = asyncio.Semaphore(128)
        clients = [c for c in await asyncio.gather(*(self.open(i, gate) for i in range(self.args.count))) if c]
        with open(self.args.ready_file, "w") as f:
            f.write(f"{len(clients)}\n")
        for _ in range(12000):  # bounded: 10 minutes
            if os.path.exists(self.args.start_file):
                break
            await asyncio.sleep(0.05)
        loop = asyncio.get_running_loop()
        interval = self.args.interval
        start = time.perf_counter_ns()
        self.measure_start = start + int(self.args.warmup * 1e9)
        self.measure_end = self.measure_start + int(self.args.measure * 1e9)
        total = self.args.warmup + self.args.measure

        def schedule(client, when):
            if (when - start) / 1e9 >= total:
                return
            client.ping()
            loop.call_at(loop.time() + interval, schedule, client, when + int(interval * 1e9))

        n = max(1, len(clients))
        for k, client in enumerate(clients):
            delay = interval * k / n
            loop.call_later(delay, schedule, client, start + int(delay * 1e9))
        await asyncio.sleep(total + 2)
        unanswered = sum(len(c.sent) for c in clients)
        if unanswered:
            self.failures["unanswered-pings"] = unanswered
        held = len(clients) - self.closed_after_ready
        for client in clients:
            client.ready = False
            client.transport.close()
        print(
            json.dumps(
                {
                    "established": len(clients),
                    "held": held,
                    "failures": self.failures,
                    "pings": self.pings,
                    "acks": self.acks,
                    "samples": self.samples,
                }
            )
        )


def raise_nofile():
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def proc_rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def proc_cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def histogram_upper_edge(index):
    """Upper edge of a bucket of fleet-bench's LatencyHistogram (64 buckets per power of two)."""
    if index < 128:
        return index
    shift = index // 64 - 1
    return ((index % 64 + 64 + 1) << shift) - 1


def histogram_percentile(histogram, q):
    total = histogram["total"]
    if total == 0:
        return None
    rank = max(1, -(-int(q * total * 1_000_000) // 1_000_000))
    seen = 0
    for index, count in sorted(histogram["buckets"]):
        seen += count
        if seen >= rank:
            return min(histogram_upper_edge(index), histogram["maximum"])
    return histogram["maximum"]


def percentile(sorted_values, q):
    if not sorted_values:
        return None
    rank = max(1, int(-(-q * len(sorted_values) // 1)))
    return sorted_values[min(rank, len(sorted_values)) - 1]


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run_count(args, count, mosquitto):
    directory = tempfile.mkdtemp(prefix=f"mosquitto-bench-{count}-")
    port = free_port()
    config = os.path.join(directory, "mosquitto.conf")
    with open(config, "w") as f:
        f.write(
            f"listener {port} 127.0.0.1\nallow_anonymous true\nmax_connections -1\npersistence false\n"
            f"user root\nlog_dest file {directory}/mosquitto.log\nlog_type error\nlog_type warning\n"
        )
    broker = subprocess.Popen([mosquitto, "-c", config], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    workers = []
    try:
        for _ in range(100):  # bounded: 10 s
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                time.sleep(0.1)
        time.sleep(1)
        rss_before = proc_rss_kib(broker.pid)
        processes = max(1, -(-count // 10000))
        start_file = os.path.join(directory, "start")
        for p in range(processes):
            first = count * p // processes
            n = count * (p + 1) // processes - first
            ready = os.path.join(directory, f"ready-{p}")
            if args.client == "swift":
                command = [
                    args.fleet_bench, "load-gen", "--mqtt", "--coordinator", f"127.0.0.1:{port}", "--count", str(n),
                    "--first-index", str(first), "--heartbeat-interval", f"{int(args.interval * 1000)}ms",
                    "--duration", f"{int((args.warmup + args.measure) * 1000)}ms",
                    "--warmup", f"{int(args.warmup * 1000)}ms", "--measure", f"{int(args.measure * 1000)}ms",
                    "--ready-file", ready, "--start-file", start_file, "--json",
                ]
            else:
                command = [
                    sys.executable, os.path.abspath(__file__), "--worker", "--port", str(port), "--count", str(n),
                    "--first", str(first), "--interval", str(args.interval), "--warmup", str(args.warmup),
                    "--measure", str(args.measure), "--ready-file", ready, "--start-file", start_file,
                ]
            workers.append((subprocess.Popen(command, stdout=subprocess.PIPE, text=True), ready))
        connect_start = time.time()
        for _ in range(6000):  # bounded: 10 minutes
            if all(os.path.exists(ready) for _, ready in workers):
                break
            time.sleep(0.1)
        connect_seconds = time.time() - connect_start
        open(start_file, "w").close()
        time.sleep(args.warmup)
        cpu0, t0 = proc_cpu_seconds(broker.pid), time.time()
        time.sleep(args.measure)
        cpu = (proc_cpu_seconds(broker.pid) - cpu0) / (time.time() - t0) * 100
        rss_after = proc_rss_kib(broker.pid)
        results = [json.loads(w.communicate(timeout=120)[0]) for w, _ in workers]
    finally:
        for w, _ in workers:
            if w.poll() is None:
                w.kill()
        broker.send_signal(signal.SIGTERM)
        try:
            broker.wait(timeout=10)
        except subprocess.TimeoutExpired:
            broker.kill()
        shutil.rmtree(directory, ignore_errors=True)
    failures = {}
    for r in results:
        for kind, n in r["failures"].items():
            failures[kind] = failures.get(kind, 0) + n
    held = sum(r["held"] for r in results)
    if args.client == "swift":
        merged = {"buckets": [], "total": 0, "maximum": 0}
        counts = {}
        for r in results:
            for index, in_bucket in r["measured"]["buckets"]:
                counts[index] = counts.get(index, 0) + in_bucket
            merged["total"] += r["measured"]["total"]
            merged["maximum"] = max(merged["maximum"], r["measured"]["maximum"])
        merged["buckets"] = sorted([i, c] for i, c in counts.items())
        sample_count = merged["total"]

        def ms(q):
            value = histogram_percentile(merged, q)
            return None if value is None else value / 1e6

    else:
        samples = sorted(s for r in results for s in r["samples"])
        sample_count = len(samples)

        def ms(q):
            value = percentile(samples, q)
            return None if value is None else value / 1e6

    return {
        "count": count,
        "processes": len(results),
        "held": held,
        "failures": failures,
        "connectSeconds": connect_seconds,
        "client": args.client,
        "samples": sample_count,
        "p50Milliseconds": ms(0.5),
        "p99Milliseconds": ms(0.99),
        "p999Milliseconds": ms(0.999),
        "rssBeforeKiB": rss_before,
        "rssAfterKiB": rss_after,
        "rssPerConnectionBytes": (rss_after - rss_before) * 1024 // held if held else 0,
        "cpuPercent": cpu,
        "pingsPerSecond": sample_count / args.measure,
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--counts", default="19900")
    parser.add_argument("--interval", type=float, default=10)
    parser.add_argument("--warmup", type=float, default=15)
    parser.add_argument("--measure", type=float, default=30)
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--client", choices=["swift", "python"], default=None)
    parser.add_argument("--fleet-bench", default=None, help="path of the release fleet-bench")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--count", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--first", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--ready-file", help=argparse.SUPPRESS)
    parser.add_argument("--start-file", help=argparse.SUPPRESS)
    args = parser.parse_args()
    raise_nofile()
    if args.worker:
        asyncio.run(Worker(args).run())
        return
    here = os.path.dirname(os.path.abspath(__file__))
    args.fleet_bench = args.fleet_bench or os.path.join(here, "..", ".build", "release", "fleet-bench")
    if args.client is None:
        args.client = "swift" if os.access(args.fleet_bench, os.X_OK) else "python"
    mosquitto = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
    if not os.path.exists(mosquitto):
        sys.exit("mosquitto is not installed: apt-get install -y mosquitto")
    version = subprocess.run([mosquitto, "-h"], capture_output=True, text=True).stdout.splitlines()[:1]
    rows = [run_count(args, int(c), mosquitto) for c in args.counts.split(",")]
    if args.json:
        print(json.dumps({"mosquitto": version, "rows": rows}, indent=2))
        return
    client = "fleet-bench load-gen --mqtt" if args.client == "swift" else "Python asyncio clients"
    print(f"{version[0] if version else 'mosquitto'}, measured live ({client}, MQTT PINGREQ/PINGRESP)")
    print(f"{'N':>6} {'held':>6} {'fail':>5} {'p50 ms':>7} {'p99 ms':>7} {'p99.9 ms':>8} {'RSS/conn':>9} {'CPU %':>6} {'ping/s':>7}")
    for r in rows:
        fmt = lambda v: "-" if v is None else f"{v:.3f}"  # noqa: E731
        print(
            f"{r['count']:>6} {r['held']:>6} {sum(r['failures'].values()):>5} {fmt(r['p50Milliseconds']):>7} "
            f"{fmt(r['p99Milliseconds']):>7} {fmt(r['p999Milliseconds']):>8} {str(r['rssPerConnectionBytes']) + ' B':>9} "
            f"{r['cpuPercent']:>6.1f} {r['pingsPerSecond']:>7.0f}"
        )
        for kind, n in sorted(r["failures"].items()):
            print(f"       failure {kind}: {n}")


if __name__ == "__main__":
    main()

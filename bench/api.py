"""API throughput: vm.info, vm.allocate and vmpool.info at 1 and 8 concurrent clients.

Starts a daemon as a child process on a fresh database, fills it with held VMs through the
API (held, so the scheduler places none and no hosts are needed), then prints requests/s and
latencies for each call with the pool at two sizes. Times are measured and printed, never
asserted.

For vmpool.info, "ms/1k VMs" is the median wall time of one call by a single client divided by
the pool size in thousands: the figure to keep at or under ~9 ms. The "vmpool.info/raw" row
makes the same call over plain HTTP and reads the reply without decoding it, so its figure
leaves out the client's XML-RPC parsing and is closer to the server's own time.

vm.allocate runs last at each size since it grows the pool ("pool size" shows from..to); at the
small size it stops early rather than grow the pool past the large size.

    .venv/bin/python bench/api.py [--db sqlite|postgresql|mariadb | --all] [--seconds 5]
                                  [--calls N] [--vms-small 1000] [--vms-large 10000]

A quick run: --vms-small 200 --vms-large 500 --seconds 2
"""

from __future__ import annotations

import argparse
import http.client
import math
import random
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import xmlrpc.client
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parent))  # bench/ is no package: reuse scale.py's helpers as they are
from scale import free_port, make_database, rss_mb, start_daemon

from nebula_core.config import ApiConfig

TEMPLATE = 'NAME="b" CPU=0.1 MEMORY=64'
POOL_ARGS = (-2, -1, -1, -1)  # every VM of every user, whatever its state (DONE aside)
CALL_TIMEOUT = 300.0  # seconds: a hung daemon ends the run instead of hanging it
CLIENTS = (1, 8)

Call = Callable[[], object]


class TimeoutTransport(xmlrpc.client.Transport):
    """xmlrpc's transport with a socket timeout, which ServerProxy itself cannot set."""

    def __init__(self, timeout: float) -> None:
        super().__init__()
        self.timeout = timeout

    def make_connection(self, host: tuple[str, dict[str, str]] | str) -> http.client.HTTPConnection:
        conn = super().make_connection(host)
        conn.timeout = self.timeout
        return conn


def proxy(endpoint: str) -> xmlrpc.client.ServerProxy:
    """One client: its own ServerProxy, so its own keep-alive HTTP connection."""
    return xmlrpc.client.ServerProxy(endpoint, transport=TimeoutTransport(CALL_TIMEOUT))


def ok(reply: object) -> object:
    """The value of an OpenNebula-style reply [success, value, code]; a failure is an error here."""
    if not isinstance(reply, list) or len(reply) < 2 or reply[0] is not True:
        raise RuntimeError(f"API error: {reply!r:.500}")
    return reply[1]


def new_vm(client: xmlrpc.client.ServerProxy, session: str) -> int:
    """A held VM: HOLD, so the scheduler leaves it alone and no host is needed."""
    vm_id = ok(client.one.vm.allocate(session, TEMPLATE, True))
    if not isinstance(vm_id, int):
        raise TypeError(f"vm.allocate returned {vm_id!r} for an ID")
    return vm_id


def raw_pool_call(endpoint: str, session: str) -> Callable[[], int]:
    """vmpool.info over a plain keep-alive HTTP connection; the call returns the reply's size in bytes, undecoded."""
    url = urlsplit(endpoint)
    conn = http.client.HTTPConnection(url.hostname or "127.0.0.1", url.port, timeout=CALL_TIMEOUT)
    body = xmlrpc.client.dumps((session, *POOL_ARGS), "one.vmpool.info").encode()

    def call() -> int:
        conn.request("POST", url.path, body, {"Content-Type": "text/xml"})
        reply = conn.getresponse()
        data = reply.read()
        if reply.status != 200 or b"<boolean>1</boolean>" not in data[:200]:
            raise RuntimeError(f"vmpool.info over HTTP: {reply.status} {data[:300]!r}")
        return len(data)

    return call


@dataclass
class Row:
    """One measurement, one line of the table."""

    operation: str
    db: str
    clients: int
    pool: str
    calls: int
    seconds: float
    samples: list[float]
    per_1000_ms: float | None = None  # vmpool.info, single client: median wall time per 1,000 VMs

    @property
    def rate(self) -> float:
        return self.calls / self.seconds if self.seconds else float("nan")

    def percentile(self, q: float) -> float:
        """Nearest-rank percentile: with few calls (a 10,000-VM pool), p95 is close to the slowest."""
        ordered = sorted(self.samples)
        if not ordered:
            return float("nan")
        return ordered[min(len(ordered) - 1, max(0, math.ceil(len(ordered) * q) - 1))]


def print_table(rows: list[Row]) -> None:
    """The figures, one line per operation, db, client count and pool size."""
    head = (f"{'operation':<16} {'db':<10} {'clients':>7} {'pool size':>13} {'calls':>7} {'req/s':>8}"
            f" {'p50 ms':>9} {'p95 ms':>9} {'ms/1k VMs':>10}")
    print(head)
    print("-" * len(head))
    for r in rows:
        per = f"{r.per_1000_ms:10.2f}" if r.per_1000_ms is not None else f"{'':>10}"
        p50 = statistics.median(r.samples) * 1000 if r.samples else float("nan")
        print(f"{r.operation:<16} {r.db:<10} {r.clients:>7} {r.pool:>13} {r.calls:>7} {r.rate:>8.1f}"
              f" {p50:>9.2f} {r.percentile(0.95) * 1000:>9.2f} {per}")
    sys.stdout.flush()


def measure(connect: Callable[[], Call], clients: int, seconds: float, limit: int | None) -> tuple[int, float, list[float]]:
    """Run calls from ``clients`` threads, each with the call ``connect()`` gave it (its own connection).

    The run lasts ``seconds``, or ``limit`` calls in all when that comes first (``seconds`` may
    be infinite). Each thread warms its connection with one untimed call, so connecting and the
    session cache do not count, and the clock starts once every thread is ready. Returns the
    timed calls, the seconds from the start until the last one finished, and each call's latency.
    """
    samples: list[list[float]] = [[] for _ in range(clients)]
    errors: list[BaseException] = []
    clock: dict[str, float] = {}
    lock = threading.Lock()
    budget = [limit]

    def start_clock() -> None:
        clock["start"] = time.perf_counter()

    barrier = threading.Barrier(clients, action=start_clock)

    def take() -> bool:
        if time.perf_counter() >= clock["start"] + seconds:
            return False
        with lock:
            if budget[0] is None:
                return True
            budget[0] -= 1
            return budget[0] >= 0

    def worker(n: int) -> None:
        mine = samples[n]
        try:
            call = connect()
            call()
            barrier.wait()
            while take():
                t0 = time.perf_counter()
                call()
                mine.append(time.perf_counter() - t0)
        except BaseException as exc:  # noqa: BLE001 - handed to the main thread, which raises it
            errors.append(exc)
            barrier.abort()

    threads = [threading.Thread(target=worker, args=(n,), daemon=True) for n in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise errors[0]
    took = time.perf_counter() - clock["start"]
    flat = [s for per in samples for s in per]
    return len(flat), took, flat


def fill(endpoint: str, session: str, ids: list[int], target: int, clients: int = 8) -> None:
    """Allocate held VMs until ``ids`` holds ``target``; progress on stderr, since 10,000 take a while."""
    need = target - len(ids)
    if need <= 0:
        return
    lock = threading.Lock()
    errors: list[BaseException] = []
    start = time.perf_counter()
    todo = [need]

    def worker() -> None:
        try:
            client = proxy(endpoint)
            while True:
                with lock:
                    if todo[0] <= 0 or errors:
                        return
                    todo[0] -= 1
                vm_id = new_vm(client, session)
                with lock:
                    ids.append(vm_id)
        except BaseException as exc:  # noqa: BLE001 - handed to the main thread, which raises it
            errors.append(exc)

    threads = [threading.Thread(target=worker, daemon=True) for _ in range(clients)]
    for t in threads:
        t.start()
    tty = sys.stderr.isatty()
    last = start
    while any(t.is_alive() for t in threads):
        time.sleep(0.25)
        now = time.perf_counter()
        if tty or now - last >= 5:
            last = now
            done = len(ids) - (target - need)
            print(("\r" if tty else "") + f"filling: {len(ids)}/{target} VMs held ({done / (now - start):.0f} allocations/s)",
                  end="" if tty else "\n", file=sys.stderr, flush=True)
    took = time.perf_counter() - start
    print(("\r" if tty else "") + f"filled: {len(ids)}/{target} VMs held, {need} in {took:.1f} s ({need / took:.0f}/s, 8 clients)",
          file=sys.stderr, flush=True)
    if errors:
        raise errors[0]


def count_vms(rpc: xmlrpc.client.ServerProxy, session: str) -> int:
    """VMs the pool listing returns: a check that the pool is the size the table says."""
    return str(ok(rpc.one.vmpool.info(session, *POOL_ARGS))).count("<VM>")


class Daemon:
    """A daemon on a fresh database in a temporary directory, started as bench/scale.py starts it."""

    def __init__(self, kind: str, api_threads: int) -> None:
        self.kind = kind
        self.workdir = Path(tempfile.mkdtemp(prefix="nebula-bench-api-"))
        self.url, self._drop = make_database(kind, self.workdir)
        port = free_port()
        self.endpoint = f"http://127.0.0.1:{port}/RPC2"
        self.log = self.workdir / "daemon.log"
        self.proc = start_daemon(self.workdir, self.url, port, api_threads)

    def wait_ready(self, timeout: float = 60.0) -> str:
        """oneadmin's session string, once the daemon has written one_auth and answers."""
        auth = self.workdir / "one_auth"
        deadline = time.monotonic() + timeout
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"daemon exited with {self.proc.returncode}:\n{self.log.read_text()}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"daemon not ready after {timeout:.0f} s:\n{self.log.read_text()}")
            text = auth.read_text().strip() if auth.exists() else ""
            if text:
                try:
                    proxy(self.endpoint).one.system.version(text)
                    return text
                except OSError:
                    pass
            time.sleep(0.1)

    def stop(self) -> None:
        """Stop the daemon, drop its database, and show anything it logged (warnings and up)."""
        self.proc.terminate()
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        try:
            self._drop()
        except Exception as exc:  # noqa: BLE001 - a leftover database is worth a line, not a traceback
            print(f"could not drop the benchmark database: {exc}", file=sys.stderr)
        logged = self.log.read_text().strip()
        if logged:
            lines = logged.splitlines()
            print(f"daemon log ({self.log}, {len(lines)} lines, last 20):", file=sys.stderr)
            print("\n".join(lines[-20:]), file=sys.stderr)


def run(kind: str, args: argparse.Namespace) -> list[Row]:
    """Every measurement on one database; the rows are printed as a table before returning."""
    seconds = math.inf if args.calls > 0 else args.seconds
    daemon = Daemon(kind, args.api_threads)
    rows: list[Row] = []
    notes: list[str] = []
    try:
        session = daemon.wait_ready()
        endpoint = daemon.endpoint
        rpc = proxy(endpoint)
        print(f"\nNebula API throughput: {kind}, api.threads {args.api_threads}, pool of {args.vms_small} then "
              f"{args.vms_large} held VMs, " + (f"{args.calls} calls" if args.calls > 0 else f"{args.seconds:g} s")
              + " per measurement", flush=True)
        ids: list[int] = []

        def vm_info() -> Call:
            client, rng = proxy(endpoint), random.Random()
            return lambda: ok(client.one.vm.info(session, ids[rng.randrange(len(ids))]))

        def vmpool_info() -> Call:
            client = proxy(endpoint)
            return lambda: ok(client.one.vmpool.info(session, *POOL_ARGS))

        def vmpool_raw() -> Call:
            return raw_pool_call(endpoint, session)

        def vm_allocate() -> Call:
            client = proxy(endpoint)

            def call() -> int:
                vm_id = new_vm(client, session)
                ids.append(vm_id)  # list.append is atomic; the next fill counts these VMs too
                return vm_id

            return call

        def record(name: str, clients: int, pool: str, vms: int, result: tuple[int, float, list[float]]) -> Row:
            calls, took, samples = result
            row = Row(name, kind, clients, pool, calls, took, samples)
            if name.startswith("vmpool.info") and clients == 1 and vms and samples:
                row.per_1000_ms = statistics.median(samples) * 1000 / (vms / 1000)
            rows.append(row)
            print(f"  {name} x{clients} at {pool}: {row.rate:.1f} req/s", file=sys.stderr, flush=True)
            return row

        for target in (args.vms_small, args.vms_large):
            fill(endpoint, session, ids, target)
            size = count_vms(rpc, session)
            if size != len(ids):
                print(f"warning: vmpool.info lists {size} VMs, {len(ids)} were allocated", file=sys.stderr)
            for name, connect in (("vm.info", vm_info), ("vmpool.info", vmpool_info)):
                for clients in CLIENTS:
                    record(name, clients, str(size), size, measure(connect, clients, seconds, args.calls or None))
            record("vmpool.info/raw", 1, str(size), size, measure(vmpool_raw, 1, seconds, args.calls or None))
            notes.append(f"vmpool.info reply with {size} VMs: {raw_pool_call(endpoint, session)() / 1e6:.2f} MB")
            for clients in CLIENTS:
                before = len(ids)
                limit = args.calls or None
                if target < args.vms_large:  # leave room for the large pool: at most half of it per client count
                    room = max(1, (args.vms_large - before) // 2 - clients)
                    limit = min(limit or room, room)
                result = measure(vm_allocate, clients, seconds, limit)
                after = count_vms(rpc, session)
                if after != len(ids):
                    print(f"warning: vmpool.info lists {after} VMs, {len(ids)} were allocated", file=sys.stderr)
                record("vm.allocate", clients, f"{before}..{after}", before, result)
        print()
        print_table(rows)
        for note in notes:
            print(note)
        print(f"daemon RSS {rss_mb(daemon.proc.pid, 'VmRSS'):.0f} MB, peak {rss_mb(daemon.proc.pid):.0f} MB", flush=True)
    finally:
        daemon.stop()
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", choices=["sqlite", "postgresql", "mariadb"], default="sqlite")
    parser.add_argument("--all", action="store_true", help="run on sqlite, then on postgresql")
    parser.add_argument("--seconds", type=float, default=5.0, help="length of each measurement")
    parser.add_argument("--calls", type=int, default=0, help="a fixed number of calls per measurement instead of --seconds")
    parser.add_argument("--vms-small", type=int, default=1000)
    parser.add_argument("--vms-large", type=int, default=10000)
    parser.add_argument("--api-threads", type=int, default=ApiConfig.threads, help="the daemon's api.threads (its default)")
    args = parser.parse_args()
    if not 0 < args.vms_small <= args.vms_large:
        parser.error("need 0 < --vms-small <= --vms-large")

    rows: list[Row] = []
    for kind in (["sqlite", "postgresql"] if args.all else [args.db]):
        rows += run(kind, args)
    if args.all:
        print("\nAll databases:")
        print_table(rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Hook costs: event throughput with 10 observer plugins, and commit-to-start latency of a script hook.

1. The same workload (dummy hosts, VMs submitted by 8 client threads, wait until all RUNNING) on a
   daemon with no hook plugin and on one with 10 plugins (10 entry points of one generated
   dist-info on PYTHONPATH), each appending a line per vm_allocated / vm_state_changed event to its
   own file. Prints seconds to all RUNNING for both, the slowdown, and the events/s the hooks got
   (events counted in the files / time from the first submit to the last event delivered).
2. A script hook (TYPE = state, RESOURCE = VM, ON = CREATE) whose sh command writes ``date +%s.%N``
   to a file per VM; held VMs are submitted one at a time and the latency is the script's start
   minus the time the allocate reply arrived (so it includes starting /bin/sh).

Each part starts a daemon as a child process on a fresh SQLite database. Printed, never asserted.

    .venv/bin/python bench/hooks.py [--vms 2000] [--hosts 20] [--clients 8] [--latency-samples 200]

A quick run: --vms 200 --latency-samples 30
"""

from __future__ import annotations

import argparse
import math
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
import xmlrpc.client
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))  # bench/ is no package: reuse scale.py's helpers as they are
from scale import free_port, in_parallel, make_database, start_daemon

TEMPLATE = 'NAME = "bench" CPU = 0.05 MEMORY = 64'
VMS_PER_HOST = 160  # a dummy host has 8 CPUs: 160 VMs of CPU 0.05 fill it (at 0.1, 2,000 VMs do not fit on 20 hosts)
PLUGINS = 10
EVENTS_PER_VM = 4  # vm_allocated + PENDING->PROLOG, PROLOG->BOOT, BOOT->RUNNING
RUNNING_RE = re.compile(r"<STATE>3</STATE><LCM_STATE>3</LCM_STATE>")
DEADLINE = 600.0  # seconds any wait may last before the run gives up

HOOK_MODULE = '''
import os, time
from nebula_core.hooks import hookimpl

_LOG = os.path.join(os.environ["NEBULA_BENCH_HOOK_DIR"], "{name}.log")


def _write(kind, vm_id):
    with open(_LOG, "a") as log:
        log.write(f"{{time.time():.6f}} {{kind}} {{vm_id}}\\n")


@hookimpl
def vm_allocated(event):
    _write("allocated", event.vm_id)


@hookimpl
def vm_state_changed(event):
    _write(event.lcm_state, event.vm_id)
'''


@dataclass
class Daemon:
    """A running daemon: the child process, its API endpoint and oneadmin's session."""

    process: subprocess.Popen[bytes]
    endpoint: str
    session: str
    workdir: Path

    def rpc(self) -> xmlrpc.client.ServerProxy:
        return xmlrpc.client.ServerProxy(self.endpoint)


def install_plugins(where: Path, count: int) -> None:
    """``count`` hook modules, each an entry point ``[nebula.hooks]`` of one dist-info on PYTHONPATH."""
    entries = []
    for k in range(count):
        name = f"nebula_bench_hook{k}"
        (where / f"{name}.py").write_text(HOOK_MODULE.format(name=name))
        entries.append(f"bench{k} = {name}")
    dist = where / "nebula_bench_hooks-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: nebula-bench-hooks\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text("[nebula.hooks]\n" + "\n".join(entries) + "\n")


@contextmanager
def daemon(env: dict[str, str] | None = None) -> Iterator[Daemon]:
    """A daemon as a child process on a fresh SQLite database, configured as bench/scale.py does."""
    workdir = Path(tempfile.mkdtemp(prefix="nebula-bench-hooks-"))
    url, drop = make_database("sqlite", workdir)
    port = free_port()
    process = start_daemon(workdir, url, port, env=env)
    endpoint = f"http://127.0.0.1:{port}/RPC2"
    try:
        while not (workdir / "one_auth").exists():
            if process.poll() is not None:
                raise RuntimeError("the daemon stopped:\n" + (workdir / "daemon.log").read_text())
            time.sleep(0.1)
        session = (workdir / "one_auth").read_text().strip()
        rpc = xmlrpc.client.ServerProxy(endpoint)
        while True:
            try:
                rpc.one.system.version(session)
                break
            except OSError:
                time.sleep(0.1)
        yield Daemon(process, endpoint, session, workdir)
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
        drop()


def wait_until(what: str, check: Callable[[], object], interval: float) -> None:
    """Poll ``check()`` every ``interval`` seconds until it is true, or give up after DEADLINE."""
    start = time.monotonic()
    while not check():
        if time.monotonic() - start > DEADLINE:
            raise TimeoutError(f"gave up waiting for {what}")
        time.sleep(interval)


def add_hosts(d: Daemon, hosts: int, clients: int) -> None:
    """Register ``hosts`` dummy hosts and wait until all are MONITORED."""
    def add(proxy: xmlrpc.client.ServerProxy, i: int) -> None:
        ok = proxy.one.host.allocate(d.session, f"host{i:05d}", "dummy", "dummy", -1)
        if not ok[0]:
            raise RuntimeError(ok)

    in_parallel(clients, hosts, add, d.endpoint)
    rpc = d.rpc()
    wait_until("hosts MONITORED", lambda: rpc.one.hostpool.info(d.session)[1].count("<STATE>2</STATE>") >= hosts, 0.2)


def run_vms(d: Daemon, vms: int, clients: int) -> tuple[float, float]:
    """Submit ``vms`` VMs from ``clients`` threads and wait until all are RUNNING.

    Returns the wall-clock time (time.time()) of the first submit and the seconds until all RUNNING.
    """
    def submit(proxy: xmlrpc.client.ServerProxy, _i: int) -> None:
        ok = proxy.one.vm.allocate(d.session, TEMPLATE)
        if not ok[0]:
            raise RuntimeError(ok)

    rpc = d.rpc()
    wall = time.time()
    start = time.perf_counter()
    in_parallel(clients, vms, submit, d.endpoint)

    def all_running() -> bool:
        return len(RUNNING_RE.findall(rpc.one.vmpool.info(d.session, -2, -1, -1, -1)[1])) >= vms

    wait_until("all VMs RUNNING", all_running, 0.5)
    return wall, time.perf_counter() - start


def hook_lines(hook_dir: Path) -> tuple[int, float]:
    """Lines written by all the hook plugins, and the latest time stamp among them."""
    count, last = 0, 0.0
    for path in hook_dir.glob("*.log"):
        data = path.read_bytes()
        count += data.count(b"\n")
        tail = data.rstrip(b"\n").rsplit(b"\n", 1)[-1]
        if tail:
            last = max(last, float(tail.split()[0]))
    return count, last


def wait_delivery(hook_dir: Path, expected: int, quiet: float = 10.0) -> tuple[int, float]:
    """Wait until the hooks got ``expected`` lines, or their count stopped growing for ``quiet`` seconds."""
    seen, since = -1, time.monotonic()
    while True:
        count, last = hook_lines(hook_dir)
        if count >= expected:
            return count, last
        if count != seen:
            seen, since = count, time.monotonic()
        elif time.monotonic() - since > quiet:
            return count, last
        time.sleep(0.2)


def throughput(args: argparse.Namespace) -> None:
    """Part 1: all RUNNING with 0 and with 10 observer plugins, and the events/s the plugins heard."""
    print(f"1. observer hooks: {args.hosts} dummy hosts, {args.vms} VMs, {args.clients} client threads, SQLite")
    with daemon() as d:
        add_hosts(d, args.hosts, args.clients)
        _, bare = run_vms(d, args.vms, args.clients)
    print(f"   all RUNNING, 0 hooks          {bare:9.1f} s   ({args.vms / bare:.0f} VMs/s)")

    plugin_dir = Path(tempfile.mkdtemp(prefix="nebula-bench-plugins-"))
    hook_dir = plugin_dir / "heard"
    hook_dir.mkdir()
    install_plugins(plugin_dir, PLUGINS)
    env = {"PYTHONPATH": os.pathsep.join(p for p in (str(plugin_dir), os.environ.get("PYTHONPATH", "")) if p),
           "NEBULA_BENCH_HOOK_DIR": str(hook_dir)}
    with daemon(env) as d:
        add_hosts(d, args.hosts, args.clients)
        first_submit, hooked = run_vms(d, args.vms, args.clients)
        at_running, _ = hook_lines(hook_dir)
        expected = PLUGINS * EVENTS_PER_VM * args.vms
        count, last = wait_delivery(hook_dir, expected)
    slowdown = (hooked / bare - 1) * 100
    print(f"   all RUNNING, {PLUGINS} hooks         {hooked:9.1f} s   ({args.vms / hooked:.0f} VMs/s; slowdown {slowdown:+.1f} %)")
    span = last - first_submit
    print(f"   events delivered to hooks     {count:9d}     of {expected} expected"
          f" ({PLUGINS} hooks x {EVENTS_PER_VM} events x {args.vms} VMs); {at_running} when all were RUNNING")
    print(f"   events/s delivered            {count / span:9.0f}     ({span:.1f} s from the first submit to the last event;"
          f" {count / PLUGINS / span:.0f} distinct events/s, each heard by {PLUGINS} hooks)")
    print(f"   last event after all RUNNING  {span - hooked:9.1f} s   (RUNNING is polled every 0.5 s: negative means before the poll saw it)")


def percentile(samples: list[float], q: float) -> float:
    """Nearest-rank percentile."""
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(len(ordered) * q) - 1))]


def script_latency(args: argparse.Namespace) -> None:
    """Part 2: from the allocate reply (after the commit) to the start of a script hook on CREATE."""
    print(f"2. script hook latency: ON = CREATE, {args.latency_samples} held VMs submitted one at a time")
    with daemon() as d:
        out = d.workdir / "script-runs"
        out.mkdir()
        command = d.workdir / "started.sh"
        command.write_text(f'#!/bin/sh\ndate +%s.%N > "{out}/$1.tmp" && mv "{out}/$1.tmp" "{out}/$1"\n')
        command.chmod(0o755)
        rpc = d.rpc()
        ok = rpc.one.hook.allocate(d.session, f'NAME = "bench-latency" TYPE = "state" RESOURCE = "VM" ON = "CREATE" '
                                              f'COMMAND = "{command}" ARGUMENTS = "$ID"')
        if not ok[0]:
            raise RuntimeError(ok)
        samples = []
        for _ in range(args.latency_samples):
            reply = rpc.one.vm.allocate(d.session, TEMPLATE, True)
            replied = time.time()
            if not reply[0]:
                raise RuntimeError(reply)
            started = out / str(reply[1])
            wait_until(f"the hook's run for VM {reply[1]}", started.exists, 0.001)
            samples.append(float(started.read_text()) - replied)
    print(f"   commit -> script start        {statistics.median(samples) * 1000:9.1f} ms median,"
          f" {percentile(samples, 0.99) * 1000:.1f} ms p99, {min(samples) * 1000:.1f} ms min, {max(samples) * 1000:.1f} ms max")
    print("   (from the allocate reply, which comes after the commit, to `date` in the script: includes /bin/sh's start)")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--vms", type=int, default=2000)
    parser.add_argument("--hosts", type=int, default=20)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--latency-samples", type=int, default=200)
    args = parser.parse_args()
    if args.vms > args.hosts * VMS_PER_HOST:
        parser.error(f"{args.vms} VMs do not fit on {args.hosts} dummy hosts (at most {VMS_PER_HOST} each)")
    throughput(args)
    sys.stdout.flush()
    script_latency(args)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""The dummy drivers, loaded through their entry points as the core loads them."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from nebula_core.drivers.errors import DriverError, HostUnreachable, VMNotFound
from nebula_core.drivers.im import IMDriver
from nebula_core.drivers.tm import Location, TMDriver
from nebula_core.drivers.vmm import Capability, DeploySpec, DriverContext, PowerState, VMMDriver
from nebula_core.template import Template
from stevedore import DriverManager

from nebula_dummy.faults import VMM_OPS

HOST = "node1"


def load(namespace: str, var_dir: Path) -> Any:
    """Build the ``dummy`` driver of ``namespace`` as the core does: by entry point, with a context."""
    manager: DriverManager[Any] = DriverManager(
        namespace, "dummy", invoke_on_load=True, invoke_args=(DriverContext(var_dir),)
    )
    return manager.driver


@pytest.fixture
def var_dir(tmp_path: Path) -> Path:
    return tmp_path / "var"


@pytest.fixture
def vmm(var_dir: Path) -> VMMDriver:
    driver = load("nebula.vmm", var_dir)
    assert isinstance(driver, VMMDriver)
    return driver


@pytest.fixture
def im(var_dir: Path) -> IMDriver:
    driver = load("nebula.im", var_dir)
    assert isinstance(driver, IMDriver)
    return driver


@pytest.fixture
def tm(var_dir: Path) -> TMDriver:
    driver = load("nebula.tm", var_dir)
    assert isinstance(driver, TMDriver)
    return driver


def spec(vm_id: int = 7, /, *, host: str = HOST, cpu: str = "0.5", memory: str = "512", **extra: str) -> DeploySpec:
    template = Template({"CPU": cpu, "MEMORY": memory, **extra}.items())
    return DeploySpec(vm_id, host, f"one-{vm_id}", template, f"/var/lib/one/{vm_id}")


def record(var_dir: Path, host: str, deploy_id: str) -> dict[str, Any]:
    data = json.loads((var_dir / "dummy" / host / f"{deploy_id}.json").read_text())
    assert isinstance(data, dict)
    return data


def files(var_dir: Path) -> list[Path]:
    return sorted(p for p in var_dir.rglob("*") if p.is_file())


def blocked(call: Callable[[], object], wait: float = 0.3) -> threading.Thread:
    """Start ``call`` in a daemon thread (so a hang cannot keep pytest alive) and wait a little."""
    thread = threading.Thread(target=call, daemon=True)
    thread.start()
    thread.join(wait)
    return thread


# --- loading -----------------------------------------------------------------------------------


def test_entry_points_build_one_driver_of_each_kind(vmm: VMMDriver, im: IMDriver, tm: TMDriver) -> None:
    assert type(vmm).__name__ == "DummyVMM"
    assert type(im).__name__ == "DummyIM"
    assert type(tm).__name__ == "DummyTM"
    assert vmm.capabilities == {Capability.SAVE_RESTORE, Capability.LIVE_MIGRATE, Capability.REBOOT}


# --- VMM life cycle ----------------------------------------------------------------------------


def test_deploy_then_poll_reports_the_allocation(vmm: VMMDriver, var_dir: Path) -> None:
    deploy_id = vmm.deploy(spec(cpu="0.5", memory="512"))
    assert deploy_id == "one-7"
    seen = vmm.poll(HOST, deploy_id)
    assert seen.state is PowerState.ACTIVE
    assert seen.cpu == 50.0
    assert seen.memory == 512 * 1024
    assert record(var_dir, HOST, "one-7")["vm_id"] == 7


def test_network_counters_grow(vmm: VMMDriver) -> None:
    deploy_id = vmm.deploy(spec())
    first = vmm.poll(HOST, deploy_id)
    time.sleep(0.05)
    second = vmm.poll(HOST, deploy_id)
    assert second.netrx > first.netrx >= 0  # type: ignore[operator]
    assert second.nettx > first.nettx >= 0  # type: ignore[operator]


def test_poll_of_an_unknown_vm_is_deleted(vmm: VMMDriver) -> None:
    assert vmm.poll(HOST, "one-404").state is PowerState.DELETED
    vmm.deploy(spec())
    assert vmm.poll("node2", "one-7").state is PowerState.DELETED


def test_deploy_is_idempotent_on_the_name(vmm: VMMDriver, var_dir: Path) -> None:
    assert vmm.deploy(spec()) == vmm.deploy(spec()) == "one-7"
    assert files(var_dir) == [var_dir / "dummy" / HOST / "one-7.json"]


@pytest.mark.parametrize("op", ["shutdown", "cancel"])
def test_stopping_removes_the_vm_and_repeating_is_fine(vmm: VMMDriver, var_dir: Path, op: str) -> None:
    deploy_id = vmm.deploy(spec())
    stop = getattr(vmm, op)
    stop(HOST, deploy_id)
    assert vmm.poll(HOST, deploy_id).state is PowerState.DELETED
    assert files(var_dir) == []
    stop(HOST, deploy_id)
    stop(HOST, "one-never-was")


def test_save_stops_the_vm_and_restore_runs_it_again(vmm: VMMDriver, var_dir: Path) -> None:
    deploy_id = vmm.deploy(spec())
    vmm.save(HOST, deploy_id, "/var/lib/one/7/checkpoint")
    assert vmm.poll(HOST, deploy_id).state is PowerState.DELETED
    saved = record(var_dir, HOST, deploy_id)
    assert saved["saved"] is True
    assert saved["checkpoint"] == "/var/lib/one/7/checkpoint"
    vmm.save(HOST, deploy_id, "/var/lib/one/7/checkpoint")  # repeated after a crash: fine
    vmm.shutdown(HOST, deploy_id)  # a saved VM is not running: nothing to stop
    assert vmm.restore(spec(), "/var/lib/one/7/checkpoint") == deploy_id
    assert vmm.poll(HOST, deploy_id).state is PowerState.ACTIVE
    assert record(var_dir, HOST, deploy_id)["saved"] is False
    assert vmm.restore(spec(), "/var/lib/one/7/checkpoint") == deploy_id  # repeated: same VM


def test_restore_on_another_host_moves_the_vm(vmm: VMMDriver, var_dir: Path) -> None:
    deploy_id = vmm.deploy(spec())
    vmm.save(HOST, deploy_id, "/node1/7/checkpoint")
    # A cold migration: the core names the checkpoint where the (dummy) TM moved it.
    assert vmm.restore(spec(host="node2"), "/node2/7/checkpoint") == deploy_id
    assert vmm.poll("node2", deploy_id).state is PowerState.ACTIVE
    assert vmm.poll(HOST, deploy_id).state is PowerState.DELETED
    assert files(var_dir) == [var_dir / "dummy" / "node2" / "one-7.json"]


def test_save_and_restore_need_something_to_work_on(vmm: VMMDriver) -> None:
    with pytest.raises(VMNotFound):
        vmm.save(HOST, "one-7", "/cp")
    vmm.deploy(spec())
    vmm.save(HOST, "one-7", "/cp")
    with pytest.raises(VMNotFound):
        vmm.save(HOST, "one-7", "/another/cp")
    with pytest.raises(DriverError, match="no checkpoint"):
        vmm.restore(spec(8), "/var/lib/one/8/checkpoint")


def test_migrate_moves_the_vm(vmm: VMMDriver, var_dir: Path) -> None:
    deploy_id = vmm.deploy(spec())
    vmm.migrate(HOST, deploy_id, "node2")
    assert vmm.poll("node2", deploy_id).state is PowerState.ACTIVE
    assert vmm.poll(HOST, deploy_id).state is PowerState.DELETED
    assert files(var_dir) == [var_dir / "dummy" / "node2" / "one-7.json"]
    vmm.migrate(HOST, deploy_id, "node2")  # repeated after a crash: already there
    with pytest.raises(VMNotFound):
        vmm.migrate(HOST, "one-404", "node2")


def test_reboot_counts_in_the_record(vmm: VMMDriver, var_dir: Path) -> None:
    deploy_id = vmm.deploy(spec())
    vmm.reboot(HOST, deploy_id, hard=False)
    vmm.reboot(HOST, deploy_id, hard=True)
    assert record(var_dir, HOST, deploy_id)["reboots"] == 2
    assert vmm.poll(HOST, deploy_id).state is PowerState.ACTIVE
    with pytest.raises(VMNotFound):
        vmm.reboot(HOST, "one-404", hard=False)


def test_vms_outlive_the_driver(vmm: VMMDriver, var_dir: Path) -> None:
    vmm.deploy(spec(7))
    vmm.deploy(spec(8, DUMMY_FAIL="shutdown"))
    vmm.deploy(spec(9))
    vmm.save(HOST, "one-9", "/var/lib/one/9/checkpoint")
    again = load("nebula.vmm", var_dir)  # the daemon restarted
    assert again is not vmm
    assert again.poll(HOST, "one-7").state is PowerState.ACTIVE
    assert again.poll(HOST, "one-7").memory == 512 * 1024
    with pytest.raises(DriverError, match="injected failure in shutdown"):
        again.shutdown(HOST, "one-8")  # the faults came along too
    assert again.restore(spec(9), "/var/lib/one/9/checkpoint") == "one-9"
    assert again.poll(HOST, "one-9").state is PowerState.ACTIVE


def test_vms_outlive_a_killed_daemon(var_dir: Path) -> None:
    """What the core's crash test relies on: a deploy that returned is on disk, SIGKILL or not."""
    script = (
        "import sys, time\n"
        "from pathlib import Path\n"
        "from stevedore import DriverManager\n"
        "from nebula_core.drivers.vmm import DeploySpec, DriverContext\n"
        "from nebula_core.template import Template\n"
        "vmm = DriverManager('nebula.vmm', 'dummy', invoke_on_load=True,\n"
        "                    invoke_args=(DriverContext(Path(sys.argv[1])),)).driver\n"
        "for n in range(5):\n"
        "    vmm.deploy(DeploySpec(n, 'node1', f'one-{n}', Template([('MEMORY', '64')]), '/d'))\n"
        "print('deployed', flush=True)\n"
        "time.sleep(60)\n"
    )
    daemon = subprocess.Popen([sys.executable, "-c", script, str(var_dir)], stdout=subprocess.PIPE, text=True)
    try:
        assert daemon.stdout is not None
        assert daemon.stdout.readline() == "deployed\n"
    finally:
        daemon.send_signal(signal.SIGKILL)
        daemon.wait()
    assert daemon.returncode == -signal.SIGKILL
    again = load("nebula.vmm", var_dir)
    assert [again.poll(HOST, f"one-{n}").state for n in range(5)] == [PowerState.ACTIVE] * 5


def test_concurrent_deploys_and_polls(vmm: VMMDriver, var_dir: Path) -> None:
    errors: list[BaseException] = []

    def work(first: int) -> None:
        try:
            for vm_id in range(first, first + 50):
                deploy_id = vmm.deploy(spec(vm_id, host=f"node{vm_id % 3}"))
                assert vmm.poll(f"node{vm_id % 3}", deploy_id).state is PowerState.ACTIVE
                vmm.deploy(spec(vm_id, host=f"node{vm_id % 3}"))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(n * 50,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert len(files(var_dir)) == 400
    again = load("nebula.vmm", var_dir)
    assert all(again.poll(f"node{n % 3}", f"one-{n}").state is PowerState.ACTIVE for n in range(400))


# --- failure injection -------------------------------------------------------------------------


def call(vmm: VMMDriver, op: str, **faults: str) -> object:
    """Run ``op`` on VM 7 on HOST; ``faults`` go into the template of the calls that take one."""
    calls: dict[str, Callable[[], object]] = {
        "deploy": lambda: vmm.deploy(spec(**faults)),
        "shutdown": lambda: vmm.shutdown(HOST, "one-7"),
        "cancel": lambda: vmm.cancel(HOST, "one-7"),
        "save": lambda: vmm.save(HOST, "one-7", "/cp"),
        "restore": lambda: vmm.restore(spec(**faults), "/cp"),
        "migrate": lambda: vmm.migrate(HOST, "one-7", "node2"),
        "reboot": lambda: vmm.reboot(HOST, "one-7", hard=False),
        "poll": lambda: vmm.poll(HOST, "one-7"),
    }
    return calls[op]()


def prepare(vmm: VMMDriver, op: str, **faults: str) -> None:
    """Put VM 7 where ``op`` needs it: deployed with ``faults``, saved for restore, absent for deploy."""
    if op == "restore":
        vmm.deploy(spec())
        vmm.save(HOST, "one-7", "/cp")
    elif op != "deploy":
        vmm.deploy(spec(**faults))


@pytest.mark.parametrize("op", sorted(VMM_OPS))
def test_injected_failure(vmm: VMMDriver, var_dir: Path, op: str) -> None:
    prepare(vmm, op, DUMMY_FAIL=op)
    before = {path: path.read_text() for path in files(var_dir)}
    with pytest.raises(DriverError, match=f"^dummy: injected failure in {op}$"):
        call(vmm, op, DUMMY_FAIL=op)
    assert {path: path.read_text() for path in files(var_dir)} == before  # a failed call changes nothing
    if op not in ("deploy", "restore", "poll"):
        assert vmm.poll(HOST, "one-7").state is PowerState.ACTIVE


def test_failure_of_one_operation_leaves_the_others(vmm: VMMDriver) -> None:
    vmm.deploy(spec(DUMMY_FAIL="shutdown, reboot"))
    with pytest.raises(DriverError):
        vmm.shutdown(HOST, "one-7")
    assert vmm.poll(HOST, "one-7").state is PowerState.ACTIVE
    vmm.cancel(HOST, "one-7")  # what the core falls back to
    assert vmm.poll(HOST, "one-7").state is PowerState.DELETED


@pytest.mark.parametrize("op", sorted(VMM_OPS))
def test_injected_hang_blocks_the_call(vmm: VMMDriver, op: str) -> None:
    prepare(vmm, op, DUMMY_HANG=op)
    thread = blocked(lambda: call(vmm, op, DUMMY_HANG=op))
    assert thread.is_alive()
    assert thread.daemon
    # The hang holds no lock: other VMs and calls go on.
    assert vmm.deploy(spec(8)) == "one-8"
    assert vmm.poll(HOST, "one-8").state is PowerState.ACTIVE


def test_injected_delay_slows_every_call_for_that_vm(vmm: VMMDriver) -> None:
    start = time.monotonic()
    vmm.deploy(spec(DUMMY_DELAY="0.2"))
    vmm.poll(HOST, "one-7")
    assert time.monotonic() - start >= 0.4
    delayed = time.monotonic() - start
    start = time.monotonic()
    vmm.deploy(spec(8))
    vmm.poll(HOST, "one-8")
    assert time.monotonic() - start < delayed  # another VM's calls are not slowed


@pytest.mark.parametrize(
    ("attribute", "value"),
    [
        ("DUMMY_DELAY", "soon"),
        ("DUMMY_DELAY", "-1"),
        ("DUMMY_DELAY", "nan"),
        ("DUMMY_FAIL", "deploy,explode"),
        ("DUMMY_HANG", "probe"),
        ("MEMORY", "lots"),
        ("CPU", "-2"),
    ],
)
def test_bad_settings_refuse_the_deploy(vmm: VMMDriver, var_dir: Path, attribute: str, value: str) -> None:
    with pytest.raises(DriverError, match=attribute):
        vmm.deploy(spec(**{attribute: value}))
    assert files(var_dir) == []


def test_a_vector_where_a_setting_is_due_is_refused(vmm: VMMDriver) -> None:
    bad = DeploySpec(7, HOST, "one-7", Template([("MEMORY", "64"), ("DUMMY_FAIL", {"OP": "deploy"})]), "/d")
    with pytest.raises(DriverError, match="DUMMY_FAIL"):
        vmm.deploy(bad)


# --- paths -------------------------------------------------------------------------------------


@pytest.mark.parametrize("host", ["../../etc", "..", ".", "/etc", "a/../../b", ".hidden", "x\x00y"])
def test_names_cannot_escape_the_var_dir(vmm: VMMDriver, im: IMDriver, var_dir: Path, host: str) -> None:
    root = (var_dir / "dummy").resolve()
    for deploy_id in ("../../escape", "..", "/tmp/abs"):
        vmm.deploy(DeploySpec(7, host, deploy_id, Template([("MEMORY", "64")]), "/d"))
        assert vmm.poll(host, deploy_id).state is PowerState.ACTIVE
    written = files(var_dir.parent)
    assert len(written) == 3
    for path in written:
        assert path.resolve().parent.parent == root
    assert im.probe(host, {}).used_memory == 3 * 64 * 1024
    vmm.migrate(host, "..", "../elsewhere")
    assert all(path.resolve().is_relative_to(root) for path in files(var_dir.parent))


def test_empty_names_are_refused(vmm: VMMDriver) -> None:
    with pytest.raises(DriverError, match="empty"):
        vmm.deploy(spec(host=""))


def test_unreadable_records_are_skipped(vmm: VMMDriver, var_dir: Path) -> None:
    vmm.deploy(spec())
    (var_dir / "dummy" / HOST / "junk.json").write_text("{not json")
    (var_dir / "dummy" / HOST / "wrong.json").write_text('{"host": "node1", "deploy_id": 3}')
    again = load("nebula.vmm", var_dir)
    assert again.poll(HOST, "one-7").state is PowerState.ACTIVE


# --- IM ----------------------------------------------------------------------------------------


def test_probe_reports_opennebula_dummy_host(im: IMDriver) -> None:
    report = im.probe(HOST, {})
    assert (report.total_cpu, report.total_memory) == (800, 16777216)
    assert (report.used_cpu, report.used_memory) == (0, 0)
    assert report.attributes == {
        "HYPERVISOR": "dummy",
        "ARCH": "x86_64",
        "MODELNAME": "Dummy CPU",
        "CPUSPEED": "2000",
        "HOSTNAME": HOST,
    }


def test_probe_counts_running_vms_on_that_host(vmm: VMMDriver, im: IMDriver) -> None:
    vmm.deploy(spec(1, cpu="0.5", memory="512"))
    vmm.deploy(spec(2, cpu="2", memory="1024"))
    vmm.deploy(spec(3, host="node2", cpu="4", memory="4096"))
    vmm.deploy(spec(4, cpu="1", memory="2048"))
    vmm.save(HOST, "one-4", "/cp")  # saved: no longer uses the host
    report = im.probe(HOST, {"DUMMY_CPU": "1600", "DUMMY_MEMORY": "33554432"})
    assert (report.total_cpu, report.total_memory) == (1600, 33554432)
    assert (report.used_cpu, report.used_memory) == (250, 1536 * 1024)
    assert (report.free_cpu, report.free_memory) == (1350, 33554432 - 1536 * 1024)
    vmm.migrate("node2", "one-3", HOST)
    assert im.probe(HOST, {}).used_cpu == 650


@pytest.mark.parametrize("attribute", ["DUMMY_CPU", "DUMMY_MEMORY"])
@pytest.mark.parametrize("value", ["-1", "1.5", "lots", "+3"])
def test_probe_refuses_bad_capacity(im: IMDriver, attribute: str, value: str) -> None:
    with pytest.raises(DriverError, match=attribute):
        im.probe(HOST, {attribute: value})


def test_probe_injected_failure_is_an_unreachable_host(im: IMDriver) -> None:
    with pytest.raises(HostUnreachable, match=r"^dummy: host node1 does not answer$"):
        im.probe(HOST, {"DUMMY_FAIL": "probe"})
    with pytest.raises(DriverError, match="DUMMY_FAIL"):
        im.probe(HOST, {"DUMMY_FAIL": "deploy"})
    assert im.probe("node2", {}).total_cpu == 800  # other hosts answer


def test_probe_injected_hang(im: IMDriver) -> None:
    thread = blocked(lambda: im.probe(HOST, {"DUMMY_HANG": "probe"}))
    assert thread.is_alive()
    assert im.probe("node2", {}).total_cpu == 800


# --- TM ----------------------------------------------------------------------------------------


def test_tm_succeeds_and_touches_nothing(tm: TMDriver, tmp_path: Path) -> None:
    front, host = Location("", "/srv/images/ttylinux.img"), Location(HOST, "/var/lib/one/7/disk.0")
    tm.clone(front, host)
    tm.link(front, host)
    tm.mkswap(1024, host)
    tm.mkimage(0, "ext3", host)
    tm.context([front], host)
    tm.move(host, Location("node2", "/var/lib/one/7/disk.0"))
    tm.move(host, host)
    tm.delete(host)
    tm.delete(host)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    "bad",
    [
        lambda tm: tm.clone("/srv/a", Location(HOST, "/b")),
        lambda tm: tm.move(Location(HOST, "/a"), None),
        lambda tm: tm.delete(Location(HOST, "")),
        lambda tm: tm.mkswap(-1, Location(HOST, "/swap")),
        lambda tm: tm.mkimage(True, "ext3", Location(HOST, "/fs")),
        lambda tm: tm.mkimage(10, "", Location(HOST, "/fs")),
    ],
)
def test_tm_checks_its_arguments(tm: TMDriver, bad: Callable[[Any], None]) -> None:
    with pytest.raises(DriverError):
        bad(tm)

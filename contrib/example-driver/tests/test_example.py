"""What is particular to the example drivers; ``test_conformance`` checks the contract they share.

Run with the plugin installed beside nebula-core: ``pip install . pytest && pytest``. The
``load_driver`` fixture, from the core's test kit, builds a driver by entry point as the daemon does.
"""

from __future__ import annotations

import pytest
from nebula_core.drivers.errors import DriverError
from nebula_core.drivers.vmm import DeploySpec, DriverContext, PowerState
from nebula_core.template import Template
from nebula_core.testing.plugin import LoadDriver


def spec(vm_id: int = 7, host: str = "node1", **attributes: str) -> DeploySpec:
    template = Template({"CPU": "0.5", "MEMORY": "64", **attributes}.items())
    return DeploySpec(vm_id, host, f"one-{vm_id}", template, f"/var/lib/nebula/vms/{vm_id}")


def test_a_guest_is_a_file_until_it_stops(load_driver: LoadDriver, driver_context: DriverContext) -> None:
    vmm = load_driver("vmm", "example")
    deploy_id = vmm.deploy(spec())
    record = driver_context.var_dir / "example" / "node1" / f"{deploy_id}.json"
    assert record.is_file()
    seen = vmm.poll("node1", deploy_id)
    assert (seen.state, seen.cpu, seen.memory) == (PowerState.ACTIVE, 50.0, 64 * 1024)
    vmm.shutdown("node1", deploy_id)
    assert not record.exists()


def test_guests_outlive_the_driver(load_driver: LoadDriver, driver_context: DriverContext) -> None:
    load_driver("vmm", "example").deploy(spec())
    again = load_driver("vmm", "example")  # a fresh manager builds a fresh driver: the daemon restarted
    assert again.poll("node1", "one-7").state is PowerState.ACTIVE
    assert again.poll("node2", "one-7").state is PowerState.DELETED


@pytest.mark.parametrize(("name", "value"), [("MEMORY", "lots"), ("MEMORY", "-1"), ("CPU", "nan")])
def test_a_bad_template_refuses_the_deploy_naming_the_attribute(
    load_driver: LoadDriver, driver_context: DriverContext, name: str, value: str
) -> None:
    with pytest.raises(DriverError, match=name):
        load_driver("vmm", "example").deploy(spec(7, "node1", **{name: value}))
    assert not (driver_context.var_dir / "example").exists()


@pytest.mark.parametrize("name", ["", "..", "../etc", "a/b", ".hidden"])
def test_names_never_pick_a_path(load_driver: LoadDriver, name: str) -> None:
    with pytest.raises(DriverError, match="unusable name"):
        load_driver("vmm", "example").deploy(spec(host=name))


def test_probe_counts_the_guests_on_the_host(load_driver: LoadDriver) -> None:
    vmm, im = load_driver("vmm", "example"), load_driver("im", "example")
    empty = im.probe("node1", {})
    assert empty.total_cpu >= 100
    assert (empty.used_cpu, empty.used_memory) == (0, 0)
    assert empty.attributes["HYPERVISOR"] == "example"
    vmm.deploy(spec(1))
    vmm.deploy(spec(2, MEMORY="128"))
    vmm.deploy(spec(3, host="node2"))
    busy = im.probe("node1", {})
    assert (busy.used_cpu, busy.used_memory) == (100, 192 * 1024)
    assert busy.total_cpu == empty.total_cpu

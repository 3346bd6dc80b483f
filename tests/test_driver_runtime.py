"""Unit tests of driver containment: the runner's deadline and the checks on driver replies."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest

from nebula_core.drivers import replies
from nebula_core.drivers.errors import DriverError, DriverTimeout
from nebula_core.drivers.im import HostReport
from nebula_core.drivers.runner import Runner
from nebula_core.drivers.vmm import Observation, PowerState


def run(runner: Runner, call: Any, timeout: float = 5.0) -> tuple[Any, BaseException | None]:
    done = threading.Event()
    outcome: list[Any] = []

    def on_done(result: Any, error: BaseException | None) -> None:
        outcome.append((result, error))
        done.set()

    runner.submit(call, on_done, timeout, "test call")
    assert done.wait(10)
    return outcome[0]


def test_results_errors_and_bugs_are_reported_once() -> None:
    runner = Runner(2)
    assert run(runner, lambda: 42) == (42, None)
    result, error = run(runner, lambda: (_ for _ in ()).throw(DriverError("no")))
    assert result is None and str(error) == "no"
    result, error = run(runner, lambda: 1 / 0)  # a driver bug becomes a DriverError
    assert isinstance(error, DriverError) and "ZeroDivisionError" in str(error)
    runner.stop()


def test_a_hung_call_times_out_and_the_pool_goes_on() -> None:
    runner = Runner(1)
    release = threading.Event()
    started = time.monotonic()
    result, error = run(runner, lambda: release.wait(30), timeout=0.3)
    assert isinstance(error, DriverTimeout) and time.monotonic() - started < 5
    assert run(runner, lambda: "still serving") == ("still serving", None)  # a fresh worker took the hung one's place
    release.set()
    runner.stop()


@pytest.mark.parametrize("value", [None, "", 7, "x" * 300, "bad\nid", b"one-1"])
def test_garbage_deploy_ids_are_refused(value: Any) -> None:
    with pytest.raises(DriverError, match="not a deploy id"):
        replies.deploy_id(value, "dummy deploy")


def test_garbage_reports_are_refused() -> None:
    assert replies.deploy_id("one-7", "x") == "one-7"
    with pytest.raises(DriverError, match="not a HostReport"):
        replies.host_report({"TOTALCPU": 800}, "x probe")
    with pytest.raises(DriverError, match="non-negative integers"):
        replies.host_report(HostReport(total_cpu=-5, total_memory=10), "x probe")
    with pytest.raises(DriverError, match="not strings"):
        replies.host_report(HostReport(total_cpu=5, total_memory=10, attributes={"A": 1}), "x probe")  # type: ignore[dict-item]
    with pytest.raises(DriverError, match="not an Observation"):
        replies.observation("running", "x poll")
    assert replies.observation(Observation(PowerState.ACTIVE), "x").state is PowerState.ACTIVE

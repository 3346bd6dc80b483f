"""The life-cycle table itself: every action's rules, OpenNebula's refusals and the 1.4 names."""

from __future__ import annotations

import pytest

from nebula_core import lifecycle
from nebula_core.errors import ActionError
from nebula_core.lifecycle import DONE, HOLD, PENDING, POWEROFF, RUNNING, STEPS, STOPPED, SUSPENDED, UNKNOWN, at
from nebula_core.states import LCMState as L
from nebula_core.states import VMState as S


def test_every_step_leads_somewhere_known() -> None:
    for lcm, step in STEPS.items():
        for state, target in (step.success, step.failure):
            assert target == L.LCM_INIT or state == S.ACTIVE, (lcm, state, target)


@pytest.mark.parametrize("action, position, target", [
    ("terminate", RUNNING, at(S.ACTIVE, L.SHUTDOWN)),
    ("terminate", PENDING, DONE),
    ("terminate", POWEROFF, at(S.ACTIVE, L.EPILOG)),
    ("poweroff", UNKNOWN, at(S.ACTIVE, L.SHUTDOWN_POWEROFF)),
    ("resume", STOPPED, PENDING),
    ("resume", SUSPENDED, at(S.ACTIVE, L.BOOT_SUSPENDED)),
    ("resume", UNKNOWN, at(S.ACTIVE, L.BOOT_UNKNOWN)),
    ("hold", PENDING, HOLD),
    ("release", HOLD, PENDING),
    ("delete", at(S.ACTIVE, L.BOOT_FAILURE), at(S.ACTIVE, L.CLEANUP_DELETE)),
    ("delete-recreate", RUNNING, at(S.ACTIVE, L.CLEANUP_RESUBMIT)),
])
def test_moves(action: str, position: lifecycle.Position, target: lifecycle.Position) -> None:
    move = lifecycle.resolve(action, position)
    assert move is not None and move.target == target


@pytest.mark.parametrize("old, new", [("shutdown", "terminate"), ("cancel", "terminate-hard"), ("finalize", "delete"),
                                      ("resubmit", "delete-recreate"), ("restart", "resume")])
def test_one_four_names(old: str, new: str) -> None:
    position = UNKNOWN if old == "restart" else RUNNING
    assert lifecycle.resolve(old, position) == lifecycle.resolve(new, position)


def test_hard_terminate_overrides_a_stuck_shutdown() -> None:
    move = lifecycle.resolve("terminate-hard", at(S.ACTIVE, L.SHUTDOWN))
    assert move is not None and move.hard
    with pytest.raises(ActionError, match="not available for state SHUTDOWN"):
        lifecycle.resolve("terminate", at(S.ACTIVE, L.SHUTDOWN))


def test_refusals_name_the_state() -> None:
    with pytest.raises(ActionError, match='Error performing action "resume": This action is not available for state RUNNING'):
        lifecycle.resolve("resume", RUNNING)
    with pytest.raises(ActionError, match="not available for state HOLD"):
        lifecycle.resolve("suspend", HOLD)
    with pytest.raises(ActionError, match='Action "bogus" is not supported'):
        lifecycle.resolve("bogus", RUNNING)


def test_done_accepts_terminate_and_delete_as_no_ops() -> None:
    assert lifecycle.resolve("terminate", DONE) is None
    assert lifecycle.resolve("delete", DONE) is None
    with pytest.raises(ActionError):
        lifecycle.resolve("resume", DONE)


def test_delete_works_from_every_state_but_done() -> None:
    every = [at(s) for s in S if s not in (S.ACTIVE, S.DONE, S.FAILED)] + [at(S.ACTIVE, lcm) for lcm in L]
    for position in every:
        assert lifecycle.resolve("delete", position) is not None, position


def test_striping_and_packing_hold_inside_one_cycle() -> None:
    from nebula_core.scheduler.placement import HostSlot, PendingVM, plan

    def hosts() -> list[HostSlot]:
        return [HostSlot(i, f"n{i}", 800, 1 << 24, 0, 0, 0) for i in range(3)]

    six = [PendingVM(i, 0.5, 64, "", "- RUNNING_VMS") for i in range(6)]
    striped = plan(six, hosts(), max_dispatch=100, max_per_host=10).placements
    assert sorted(host for _, host in striped) == [0, 0, 1, 1, 2, 2]
    packed = plan([PendingVM(i, 0.5, 64, "", "RUNNING_VMS") for i in range(6)], hosts(), 100, 10).placements
    assert {host for _, host in packed} == {0}


def test_dispatch_limit_and_capacity() -> None:
    from nebula_core.scheduler.placement import HostSlot, PendingVM, plan

    hosts = [HostSlot(0, "small", 100, 1 << 24, 0, 0, 0), HostSlot(1, "big", 800, 1 << 24, 0, 0, 0)]
    result = plan([PendingVM(i, 1, 64, "", "") for i in range(4)], hosts, max_dispatch=100, max_per_host=2)
    assert result.placements == [(0, 0), (1, 1), (2, 1)]  # small holds one; big takes two, its limit
    assert "Dispatch limit reached on hosts: 1" in result.why[3] and "Not enough CPU on hosts: 0" in result.why[3]

"""The VM life-cycle as tables: what each action does in each state, and what each step runs.

A *position* is the pair (VM state, LCM state) clients see. User actions move a VM between
positions; a position whose LCM state is transient names one driver *step* (prolog, deploy,
shutdown, save, ...) and where the VM goes when the step succeeds or fails. The engine
(``engine.py``) commits the position before it runs the step, so a daemon killed mid-step
finds the step still named in the database and runs it again.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from .drivers.vmm import Capability
from .errors import ActionError
from .states import HistoryAction as HA
from .states import LCMState as L
from .states import VMState as S

Position = tuple[S, L]


def at(state: S, lcm: L = L.LCM_INIT) -> Position:
    return (state, lcm)


INIT, PENDING, HOLD, DONE = at(S.INIT), at(S.PENDING), at(S.HOLD), at(S.DONE)
STOPPED, SUSPENDED, POWEROFF, UNDEPLOYED = at(S.STOPPED), at(S.SUSPENDED), at(S.POWEROFF), at(S.UNDEPLOYED)
RUNNING, UNKNOWN = at(S.ACTIVE, L.RUNNING), at(S.ACTIVE, L.UNKNOWN)


class Op(Enum):
    """The driver work a transient LCM state stands for."""

    PROLOG = "prolog"  # TM: put the disks on the host
    PROLOG_RESUME = "prolog_resume"  # TM: bring the VM directory back from the front-end
    PROLOG_MIGRATE = "prolog_migrate"  # TM: move the VM directory from the old host to the new
    DEPLOY = "deploy"  # VMM: boot
    RESTORE = "restore"  # VMM: boot from the checkpoint
    SHUTDOWN = "shutdown"  # VMM: ACPI power-off, falling back to cancel (or cancel at once when hard)
    SAVE = "save"  # VMM: checkpoint and stop
    MIGRATE = "migrate"  # VMM: live migration
    EPILOG = "epilog"  # TM: remove the VM directory from the host
    EPILOG_STOP = "epilog_stop"  # TM: move the VM directory to the front-end
    CLEANUP = "cleanup"  # VMM cancel + TM delete, tolerating whatever is already gone


@dataclass(frozen=True)
class Step:
    op: Op
    success: Position
    failure: Position


A = S.ACTIVE
STEPS: dict[L, Step] = {
    L.PROLOG: Step(Op.PROLOG, at(A, L.BOOT), at(A, L.PROLOG_FAILURE)),
    L.PROLOG_RESUME: Step(Op.PROLOG_RESUME, at(A, L.BOOT_STOPPED), at(A, L.PROLOG_RESUME_FAILURE)),
    L.PROLOG_UNDEPLOY: Step(Op.PROLOG_RESUME, at(A, L.BOOT_UNDEPLOY), at(A, L.PROLOG_UNDEPLOY_FAILURE)),
    L.PROLOG_MIGRATE: Step(Op.PROLOG_MIGRATE, at(A, L.BOOT_MIGRATE), at(A, L.PROLOG_MIGRATE_FAILURE)),
    L.BOOT: Step(Op.DEPLOY, RUNNING, at(A, L.BOOT_FAILURE)),
    L.BOOT_UNDEPLOY: Step(Op.DEPLOY, RUNNING, at(A, L.BOOT_UNDEPLOY_FAILURE)),
    L.BOOT_POWEROFF: Step(Op.DEPLOY, RUNNING, POWEROFF),
    L.BOOT_UNKNOWN: Step(Op.DEPLOY, RUNNING, UNKNOWN),
    L.BOOT_STOPPED: Step(Op.RESTORE, RUNNING, at(A, L.BOOT_STOPPED_FAILURE)),
    L.BOOT_SUSPENDED: Step(Op.RESTORE, RUNNING, SUSPENDED),
    L.BOOT_MIGRATE: Step(Op.RESTORE, RUNNING, at(A, L.BOOT_MIGRATE_FAILURE)),
    L.SHUTDOWN: Step(Op.SHUTDOWN, at(A, L.EPILOG), RUNNING),
    L.SHUTDOWN_POWEROFF: Step(Op.SHUTDOWN, POWEROFF, RUNNING),
    L.SHUTDOWN_UNDEPLOY: Step(Op.SHUTDOWN, at(A, L.EPILOG_UNDEPLOY), RUNNING),
    L.SAVE_STOP: Step(Op.SAVE, at(A, L.EPILOG_STOP), RUNNING),
    L.SAVE_SUSPEND: Step(Op.SAVE, SUSPENDED, RUNNING),
    L.SAVE_MIGRATE: Step(Op.SAVE, at(A, L.PROLOG_MIGRATE), RUNNING),  # failure: back on the old host
    L.MIGRATE: Step(Op.MIGRATE, RUNNING, RUNNING),  # failure: back on the old host
    L.EPILOG: Step(Op.EPILOG, DONE, at(A, L.EPILOG_FAILURE)),
    L.EPILOG_STOP: Step(Op.EPILOG_STOP, STOPPED, at(A, L.EPILOG_STOP_FAILURE)),
    L.EPILOG_UNDEPLOY: Step(Op.EPILOG_STOP, UNDEPLOYED, at(A, L.EPILOG_UNDEPLOY_FAILURE)),
    L.CLEANUP_DELETE: Step(Op.CLEANUP, DONE, DONE),
    L.CLEANUP_RESUBMIT: Step(Op.CLEANUP, PENDING, PENDING),
}

# Steps whose failure puts the VM back where it was before a migration was asked for.
MIGRATION_STEPS = frozenset({L.SAVE_MIGRATE, L.MIGRATE})

# Positions where the VM is on a host (holds its capacity): everything ACTIVE, plus these.
ON_HOST_STATES = frozenset({S.ACTIVE, S.SUSPENDED, S.POWEROFF})

FAILURES = frozenset(lcm for lcm in L if lcm.is_failure)


@dataclass(frozen=True)
class Move:
    """Where an action takes a VM from some positions."""

    target: Position
    history: HA
    hard: bool = False
    needs: Capability | None = None


def _rule(froms: list[Position], move: Move) -> dict[Position, Move]:
    return {position: move for position in froms}


def _terminate(hard: bool) -> dict[Position, Move]:
    history = HA.TERMINATE_HARD if hard else HA.TERMINATE
    rules = {
        **_rule([INIT, PENDING, HOLD], Move(DONE, history)),
        **_rule([RUNNING, UNKNOWN], Move(at(A, L.SHUTDOWN), history, hard=hard)),
        **_rule([POWEROFF, SUSPENDED], Move(at(A, L.EPILOG), history)),
        **_rule([STOPPED, UNDEPLOYED], Move(at(A, L.CLEANUP_DELETE), history)),
        **_rule([at(A, lcm) for lcm in FAILURES], Move(at(A, L.CLEANUP_DELETE), history)),
    }
    if hard:  # a stuck graceful shutdown can be overridden
        rules[at(A, L.SHUTDOWN)] = Move(at(A, L.SHUTDOWN), history, hard=True)
    return rules


def _down(lcm: L, history: HA, hard: bool) -> dict[Position, Move]:
    return _rule([RUNNING, UNKNOWN], Move(at(A, lcm), history, hard=hard))


# action name -> {position it is allowed from -> move}
ACTIONS: dict[str, dict[Position, Move]] = {
    "terminate": _terminate(hard=False),
    "terminate-hard": _terminate(hard=True),
    "poweroff": _down(L.SHUTDOWN_POWEROFF, HA.POWEROFF, hard=False),
    "poweroff-hard": _down(L.SHUTDOWN_POWEROFF, HA.POWEROFF_HARD, hard=True),
    "undeploy": {**_down(L.SHUTDOWN_UNDEPLOY, HA.UNDEPLOY, False), POWEROFF: Move(at(A, L.EPILOG_UNDEPLOY), HA.UNDEPLOY)},
    "undeploy-hard": {
        **_down(L.SHUTDOWN_UNDEPLOY, HA.UNDEPLOY_HARD, True),
        POWEROFF: Move(at(A, L.EPILOG_UNDEPLOY), HA.UNDEPLOY_HARD),
    },
    "hold": {PENDING: Move(HOLD, HA.HOLD)},
    "release": {HOLD: Move(PENDING, HA.RELEASE)},
    "stop": {RUNNING: Move(at(A, L.SAVE_STOP), HA.STOP, needs=Capability.SAVE_RESTORE)},
    "suspend": {RUNNING: Move(at(A, L.SAVE_SUSPEND), HA.SUSPEND, needs=Capability.SAVE_RESTORE)},
    "resume": {
        STOPPED: Move(PENDING, HA.RESUME),
        UNDEPLOYED: Move(PENDING, HA.RESUME),
        SUSPENDED: Move(at(A, L.BOOT_SUSPENDED), HA.RESUME, needs=Capability.SAVE_RESTORE),
        POWEROFF: Move(at(A, L.BOOT_POWEROFF), HA.RESUME),
        UNKNOWN: Move(at(A, L.BOOT_UNKNOWN), HA.RESUME),
    },
    "reboot": {RUNNING: Move(RUNNING, HA.REBOOT, needs=Capability.REBOOT)},
    "reboot-hard": {RUNNING: Move(RUNNING, HA.REBOOT_HARD, hard=True, needs=Capability.REBOOT)},
    "resched": _rule([RUNNING, UNKNOWN, POWEROFF], Move(RUNNING, HA.RESCHED)),
    "unresched": _rule([RUNNING, UNKNOWN, POWEROFF], Move(RUNNING, HA.UNRESCHED)),
    # one.vm.recover 3 and 4 (and 1.4's finalize / 2.x's resubmit): from any state but DONE.
    "delete": {
        **_rule([INIT, PENDING, HOLD], Move(DONE, HA.DELETE)),
        **_rule(
            [at(s) for s in (S.STOPPED, S.UNDEPLOYED, S.SUSPENDED, S.POWEROFF, S.CLONING, S.CLONING_FAILURE)]
            + [at(A, lcm) for lcm in L],
            Move(at(A, L.CLEANUP_DELETE), HA.DELETE, hard=True),
        ),
    },
    "delete-recreate": {
        **_rule([INIT, PENDING, HOLD], Move(PENDING, HA.DELETE_RECREATE)),
        **_rule(
            [at(s) for s in (S.STOPPED, S.UNDEPLOYED, S.SUSPENDED, S.POWEROFF)] + [at(A, lcm) for lcm in L],
            Move(at(A, L.CLEANUP_RESUBMIT), HA.DELETE_RECREATE, hard=True),
        ),
    },
}

# OpenNebula 1.4 (and 2.x) names for the same moves.
ALIASES = {
    "shutdown": "terminate",
    "cancel": "terminate-hard",
    "restart": "resume",
    "finalize": "delete",
    "resubmit": "delete-recreate",
    "reset": "reboot-hard",
}

# Accepted on a DONE VM as a no-op, as oned does.
NOOP_ON_DONE = frozenset({"terminate", "terminate-hard", "delete"})


def resolve(action: str, position: Position) -> Move | None:
    """The move ``action`` makes from ``position``; None means accepted and nothing to do.

    Raises ActionError with OpenNebula's wording when the action is unknown or not allowed here.
    """
    name = ALIASES.get(action, action)
    rules = ACTIONS.get(name)
    if rules is None:
        raise ActionError(f'Action "{action}" is not supported')
    move = rules.get(position)
    if move is None and name == "restart" and position == at(A, L.BOOT):
        move = rules[UNKNOWN]
    if move is None:
        if position == DONE and name in NOOP_ON_DONE:
            return None
        state, lcm = position
        where = lcm.name if state == S.ACTIVE else state.name
        raise ActionError(f'Error performing action "{action}": This action is not available for state {where}')
    return move


def deploy_target(previous_action: HA | None) -> Position:
    """Where a deploy starts: a VM that was stopped or undeployed comes back from the front-end."""
    if previous_action == HA.STOP:
        return at(A, L.PROLOG_RESUME)
    if previous_action in (HA.UNDEPLOY, HA.UNDEPLOY_HARD):
        return at(A, L.PROLOG_UNDEPLOY)
    return at(A, L.PROLOG)


DEPLOYABLE = frozenset({PENDING, HOLD, STOPPED, UNDEPLOYED})  # one.vm.deploy; the scheduler takes PENDING only
MIGRATABLE = frozenset({RUNNING})

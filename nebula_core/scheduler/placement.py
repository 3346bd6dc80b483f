"""Match-making: which host each PENDING VM goes to, and for those that fit nowhere, why.

One cycle reads the pending VMs, the MONITORED hosts and what the VMs on them already hold,
then places VMs in id order: filter by SCHED_REQUIREMENTS (compiled once per expression),
order by SCHED_RANK (highest first, then lowest host id), take the first host with room for
CPU x 100 and MEMORY x 1024 KB. Usage is updated as the cycle places, so two VMs never count
on the same room, and the host is ranked again (striping and packing hold inside a cycle).
"""

from __future__ import annotations

import heapq
import json
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache

from ..template import Template
from .expr import ExpressionError, Rank, Requirements, compile_rank, compile_requirements


@dataclass
class HostSlot:
    """A host as the scheduler sees it during one cycle."""

    id: int
    name: str
    max_cpu: int  # cores x 100
    max_mem: int  # KB
    cpu_usage: int  # allocated to VMs, cores x 100
    mem_usage: int  # KB
    running_vms: int
    variables: dict[str, str | int | float] = field(default_factory=dict)
    placed: int = 0  # VMs given to this host in this cycle

    def lookup(self, name: str) -> str | int | float | None:
        if name == "RUNNING_VMS":
            return self.running_vms
        if name == "CPU_USAGE":
            return self.cpu_usage
        if name == "MEM_USAGE":
            return self.mem_usage
        if name == "FREE_CPU":
            return self.max_cpu - self.cpu_usage
        if name == "FREE_MEM" or name == "FREE_MEMORY":
            return self.max_mem - self.mem_usage
        return self.variables.get(name)


@dataclass(frozen=True)
class PendingVM:
    id: int
    cpu: float
    memory: int  # MB
    requirements: str
    rank: str
    current_host: int | None = None  # set for a RUNNING VM to be rescheduled: it must go elsewhere


@dataclass
class Plan:
    placements: list[tuple[int, int]] = field(default_factory=list)  # (vm_id, host_id)
    why: dict[int, str] = field(default_factory=dict)  # vm_id -> reason it stays PENDING


def host_variables(host_id: int, name: str, cluster_id: int, template_json: str, monitoring_json: str,
                   max_cpu: int, max_mem: int) -> dict[str, str | int | float]:
    """What REQUIREMENTS and RANK may name: template, then monitoring, then the host's own fields."""
    values: dict[str, str | int | float] = {"ID": host_id, "NAME": name, "CLUSTER_ID": cluster_id,
                                            "MAX_CPU": max_cpu, "MAX_MEM": max_mem, "TOTAL_CPU": max_cpu,
                                            "TOTAL_MEM": max_mem}
    monitoring = json.loads(monitoring_json or "{}")
    values.update({k: v for k, v in monitoring.items() if isinstance(v, (str, int, float))})
    values.update({k: v for k, v in Template.from_json(template_json) if isinstance(v, str)})
    return values


@lru_cache(maxsize=1024)
def _requirements(text: str) -> Requirements:
    return compile_requirements(text)


@lru_cache(maxsize=1024)
def _rank(text: str) -> Rank:
    return compile_rank(text)


@dataclass
class _Candidates:
    """The hosts meeting one (REQUIREMENTS, RANK) pair, best rank first.

    A heap keyed on (-rank, host id): the host a VM lands on is ranked again with its new usage
    (RUNNING_VMS, FREE_CPU...), so striping and packing hold inside one cycle, as in oned.
    """

    rank: Rank
    matching: list[HostSlot]
    heap: list[tuple[int, int, HostSlot]]

    @classmethod
    def build(cls, requirements: Requirements, rank: Rank, hosts: Sequence[HostSlot]) -> _Candidates:
        matching = [h for h in hosts if requirements(h.lookup)]
        heap = [(-rank(h.lookup), h.id, h) for h in matching]
        heapq.heapify(heap)
        return cls(rank, matching, heap)

    def take(self, vm: PendingVM, max_per_host: int) -> HostSlot | None:
        """The best host with room for ``vm``; hosts at their dispatch limit leave the heap."""
        cpu, mem = round(vm.cpu * 100), vm.memory * 1024
        passed, chosen = [], None
        while self.heap:
            entry = heapq.heappop(self.heap)
            host = entry[2]
            if host.placed >= max_per_host:
                continue
            if host.id != vm.current_host and host.max_cpu - host.cpu_usage >= cpu and host.max_mem - host.mem_usage >= mem:
                chosen = host
                break
            passed.append(entry)
        for entry in passed:
            heapq.heappush(self.heap, entry)
        return chosen

    def update(self, host: HostSlot) -> None:
        heapq.heappush(self.heap, (-self.rank(host.lookup), host.id, host))


def plan(vms: Sequence[PendingVM], hosts: Sequence[HostSlot], max_dispatch: int, max_per_host: int) -> Plan:
    result = Plan()
    if not hosts:  # none enabled and monitored: every VM says so (the loop below would stop at once)
        result.why.update((vm.id, explain(vm, hosts, (), max_per_host)) for vm in vms)
        return result
    candidates: dict[tuple[str, str], _Candidates] = {}
    open_hosts = len(hosts)  # hosts below their dispatch limit for this cycle
    for vm in vms:
        if len(result.placements) >= max_dispatch or open_hosts == 0:
            break
        key = (vm.requirements, vm.rank)
        if key not in candidates:
            try:
                candidates[key] = _Candidates.build(_requirements(vm.requirements), _rank(vm.rank), hosts)
            except ExpressionError as exc:
                result.why[vm.id] = f"Cannot schedule VM: {exc}"
                continue
        found = candidates[key]
        chosen = found.take(vm, max_per_host)
        if chosen is None:
            result.why[vm.id] = explain(vm, hosts, found.matching, max_per_host)
            continue
        chosen.cpu_usage += round(vm.cpu * 100)
        chosen.mem_usage += vm.memory * 1024
        chosen.running_vms += 1
        chosen.placed += 1
        if chosen.placed < max_per_host:
            found.update(chosen)
        else:
            open_hosts -= 1
        result.placements.append((vm.id, chosen.id))
    return result


def explain(vm: PendingVM, hosts: Sequence[HostSlot], matching: Sequence[HostSlot], max_per_host: int) -> str:
    """Per host, the first test it failed, in OpenNebula 7.4's words."""
    if not hosts:
        return "No hosts enabled to run VMs"
    matched = {h.id for h in matching}
    failed: dict[str, list[int]] = {}
    cpu = round(vm.cpu * 100)
    for host in hosts:
        if host.id not in matched and host.placed < max_per_host:
            test = "Requirements not met"
        elif host.placed >= max_per_host:
            test = "Dispatch limit reached"
        elif host.max_cpu - host.cpu_usage < cpu:
            test = "Not enough CPU"
        else:
            test = "Not enough MEMORY"
        failed.setdefault(test, []).append(host.id)
    return "; ".join(f"{test} on hosts: {_ids(ids)}" for test, ids in failed.items())


def _ids(ids: list[int], limit: int = 20) -> str:
    shown = ",".join(str(i) for i in ids[:limit])
    return shown + (f" (and {len(ids) - limit} more)" if len(ids) > limit else "")


def stamp(message: str) -> str:
    return f"{time.strftime('%a %b %d %H:%M:%S %Y')}: {message}"


__all__ = ["HostSlot", "PendingVM", "Plan", "explain", "host_variables", "plan", "stamp"]

"""The permission matrix: users x objects x levels, each allowed or denied as the nine bits say.

Alice owns a VM, a VM template and a virtual network in group ``devs``; bob is in ``devs`` too,
carol only in ``users``; oneadmin passes every check. For each permission setting below the
expected rights are written out by hand from OPENNEBULA.md section 13 and ONED-OBSERVED.md
section 16 (a right comes from the owner digit for the owner, the group digit for members of the
object's group and the other digit for everyone, whichever grants it), never recomputed with
the daemon's own formula. Each right is probed through pyone as that user:

* USE: ``<kind>.info`` succeeds, and the object is listed by its pool with filter -2;
* MANAGE: ``<kind>.update`` with append=1 of a harmless attribute;
* ADMIN: a ``<kind>.chmod`` that flips OTHER_A (restored by oneadmin afterwards).

A refusal must be AUTHORIZATION with oned's text, ``User [uid] : Not authorized to perform
<LEVEL> <VM|TEMPLATE|NET> [id].``
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import pyone
import pytest

from nebula_core.daemon import Cloud
from nebula_core.states import HostState

USERS = ("oneadmin", "alice", "bob", "carol")

# permission bits -> rights of (oneadmin, alice: owner in devs, bob: in devs, carol: neither)
MATRIX: dict[str, tuple[str, str, str, str]] = {
    "600": ("UMA", "UM", "", ""),  # the default (umask 177): the owner alone
    "640": ("UMA", "UM", "U", ""),  # the group may use it
    "660": ("UMA", "UM", "UM", ""),  # ... and manage it
    "604": ("UMA", "UM", "U", "U"),  # everyone may use it: bob through the other digit
    "070": ("UMA", "UMA", "UMA", ""),  # alice through the group digit, though her owner digit is 0
    "400": ("UMA", "U", "", ""),  # read-only, even for the owner
    "000": ("UMA", "", "", ""),  # oneadmin alone
    "700": ("UMA", "UMA", "", ""),  # the owner may change the A bits too
    "007": ("UMA", "UMA", "UMA", "UMA"),  # everyone may do everything
    "500": ("UMA", "UA", "", ""),  # ADMIN without MANAGE: chmod of an A bit is a single ADMIN check
    "610": ("UMA", "UMA", "A", ""),  # bob may flip A bits of what he can neither see nor change; alice too (group)
    "044": ("UMA", "U", "U", "U"),  # alice only through group and other
}
LEVELS = {"U": "USE", "M": "MANAGE", "A": "ADMIN"}


@dataclass(frozen=True)
class Kind:
    """How pyone reaches one kind of object and how oned names it in refusals."""

    prefix: str  # one.<prefix>.info
    objtype: str  # VM, TEMPLATE, NET

    def api(self, server: Any) -> Any:
        return getattr(server, self.prefix)

    def listed(self, server: Any) -> list[int]:
        """The ids the caller sees with pool filter -2 (everything it may USE)."""
        if self.prefix == "vm":
            return [o.ID for o in server.vmpool.info(-2, -1, -1, -1).VM]
        if self.prefix == "template":
            return [o.ID for o in server.templatepool.info(-2, -1, -1).VMTEMPLATE]
        return [o.ID for o in server.vnpool.info(-2, -1, -1).VNET]

    def attributes(self, server: Any, obj_id: int) -> Any:
        """Where ``update`` writes: USER_TEMPLATE for a VM, TEMPLATE otherwise."""
        found = self.api(server).info(obj_id)
        return found.USER_TEMPLATE if self.prefix == "vm" else found.TEMPLATE


KINDS = (Kind("vm", "VM"), Kind("template", "TEMPLATE"), Kind("vn", "NET"))


def chmod_args(octal: str) -> list[int]:
    """``"640"`` as chmod's nine 0/1 arguments (owner, group, other; each use, manage, admin)."""
    return [(int(digit) >> shift) & 1 for digit in octal for shift in (2, 1, 0)]


def other_a(server: Any, kind: Kind, obj_id: int) -> int:
    return int(kind.api(server).info(obj_id).PERMISSIONS.OTHER_A)


def refusal(uid: int, level: str, kind: Kind, obj_id: int) -> str:
    return re.escape(f"User [{uid}] : Not authorized to perform {level} {kind.objtype} [{obj_id}].") + "$"


@dataclass
class World:
    one: Any
    servers: dict[str, Any]
    uids: dict[str, int]
    objects: dict[str, int]  # kind prefix -> id, all alice's in devs
    devs: int
    net: int


@pytest.fixture
def world(one: Any, cloud: Cloud) -> World:
    """The users and alice's three objects (made by oneadmin, then given to alice:devs)."""
    devs = one.group.allocate("devs")
    uids = {"oneadmin": 0,
            "alice": one.user.allocate("alice", "pw", "core", [devs]),
            "bob": one.user.allocate("bob", "pw", "core", [devs]),
            "carol": one.user.allocate("carol", "pw", "core", [])}
    servers = {name: one if name == "oneadmin" else pyone.OneServer(cloud.api.endpoint, session=f"{name}:pw")
               for name in USERS}
    net = one.vn.allocate('NAME = "lan" AR = [ TYPE = "IP4", IP = "10.4.0.1", SIZE = "4" ]', -1)
    objects = {"vm": one.vm.allocate("CPU = 0.5 MEMORY = 64", True),
               "template": one.template.allocate('NAME = "web" CPU = 0.5 MEMORY = 64'),
               "vn": net}
    for kind in KINDS:
        kind.api(one).chown(objects[kind.prefix], uids["alice"], devs)
    return World(one, servers, uids, objects, devs, net)


def probe(world: World, user: str, kind: Kind, octal: str) -> tuple[str, list[str]]:
    """The rights ``user`` shows on alice's object of ``kind``, and any refusal worded unlike oned."""
    server, uid, obj_id, api = world.servers[user], world.uids[user], world.objects[kind.prefix], kind.api(world.servers[user])
    granted, wrong = "", []

    def attempt(level: str, call: Any) -> bool:
        try:
            call()
        except pyone.OneAuthorizationException as exc:
            if not re.search(refusal(uid, LEVELS[level], kind, obj_id), str(exc)):
                wrong.append(f"{octal} {user} {kind.objtype} {level}: {exc}")
            return False
        return True

    if attempt("U", lambda: api.info(obj_id)):
        granted += "U"
    if (obj_id in kind.listed(server)) != ("U" in granted):
        wrong.append(f"{octal} {user} {kind.objtype}: pool filter -2 disagrees with info")
    if attempt("M", lambda: api.update(obj_id, f'PROBE = "{user}"', 1)):
        granted += "M"
        if kind.attributes(world.one, obj_id).get("PROBE") != user:
            wrong.append(f"{octal} {user} {kind.objtype}: update accepted but not written")
    flipped = 1 - other_a(world.one, kind, obj_id)
    if attempt("A", lambda: api.chmod(obj_id, *[-1] * 8, flipped)):
        granted += "A"
        if other_a(world.one, kind, obj_id) != flipped:
            wrong.append(f"{octal} {user} {kind.objtype}: chmod accepted but not applied")
        kind.api(world.one).chmod(obj_id, *chmod_args(octal))
    return granted, wrong


def test_permission_matrix(world: World) -> None:
    """Every row, user, kind and level; all mismatches are reported together."""
    mismatches: list[str] = []
    for octal, expected in MATRIX.items():
        for kind in KINDS:
            kind.api(world.one).chmod(world.objects[kind.prefix], *chmod_args(octal))
        for user, rights in zip(USERS, expected, strict=True):
            for kind in KINDS:
                granted, wrong = probe(world, user, kind, octal)
                mismatches += wrong
                if granted != rights:
                    mismatches.append(f"{octal} {user} {kind.objtype}: expected {rights or '-'}, got {granted or '-'}")
    assert not mismatches, "\n".join(mismatches)


def test_matrix_rows_are_what_pyone_reads_back(world: World) -> None:
    """The setup itself: chmod_args gives the bits each row names, as PERMISSIONS shows them."""
    for octal in ("640", "070", "500", "007"):
        world.one.vm.chmod(world.objects["vm"], *chmod_args(octal))
        p = world.one.vm.info(world.objects["vm"]).PERMISSIONS
        shown = "".join(str(4 * u + 2 * m + a) for u, m, a in (
            (p.OWNER_U, p.OWNER_M, p.OWNER_A), (p.GROUP_U, p.GROUP_M, p.GROUP_A), (p.OTHER_U, p.OTHER_M, p.OTHER_A)))
        assert shown == octal


def test_admin_group_members_pass_every_check(world: World, cloud: Cloud) -> None:
    """Members of group 0 are admins like oneadmin itself (OPENNEBULA.md section 13)."""
    operator = world.one.user.allocate("operator", "pw", "core", [0])
    as_operator = pyone.OneServer(cloud.api.endpoint, session="operator:pw")
    for kind in KINDS:
        kind.api(world.one).chmod(world.objects[kind.prefix], *chmod_args("000"))
        obj_id = world.objects[kind.prefix]
        assert kind.api(as_operator).info(obj_id).ID == obj_id and obj_id in kind.listed(as_operator)
        kind.api(as_operator).update(obj_id, 'PROBE = "operator"', 1)
    assert as_operator.user.allocate("eve", "pw", "core", []) > operator


# ------------------------------------------------------------------------- beyond the owned objects


def test_regular_users_cannot_touch_hosts(world: World) -> None:
    """Hosts carry no bits for users: every host call but the (empty) pools is an admin's, as in 7.4."""
    one, carol, uid = world.one, world.servers["carol"], world.uids["carol"]
    host_id = one.host.allocate("node1", "dummy", "dummy", -1)
    for call, level in [
        (lambda: carol.host.info(host_id), f"USE HOST [{host_id}]"),
        (lambda: carol.host.allocate("node2", "dummy", "dummy", -1), "CREATE HOST"),
        (lambda: carol.host.status(host_id, 1), f"ADMIN HOST [{host_id}]"),
        (lambda: carol.host.update(host_id, 'ZONE = "x"', 1), f"ADMIN HOST [{host_id}]"),
        (lambda: carol.host.rename(host_id, "mine"), f"ADMIN HOST [{host_id}]"),
        (lambda: carol.host.delete(host_id), f"ADMIN HOST [{host_id}]"),
    ]:
        with pytest.raises(pyone.OneAuthorizationException, match=re.escape(f"User [{uid}] : Not authorized to perform {level}")):
            call()
    assert carol.hostpool.info().HOST == [] and carol.hostpool.monitoring(-1).MONITORING == []
    assert [(h.ID, h.NAME) for h in one.hostpool.info().HOST] == [(host_id, "node1")]  # nothing changed
    assert one.host.info(host_id).STATE != HostState.DISABLED and "ZONE" not in one.host.info(host_id).TEMPLATE


def test_regular_users_cannot_make_or_read_accounts(world: World) -> None:
    """Users and groups are made by admins; a user reads itself and its own groups only."""
    alice, uid, bob = world.servers["alice"], world.uids["alice"], world.uids["bob"]
    with pytest.raises(pyone.OneAuthorizationException, match=re.escape(f"User [{uid}] : Not authorized to perform CREATE USER")):
        alice.user.allocate("mallory", "pw", "core", [])
    with pytest.raises(pyone.OneAuthorizationException, match=re.escape(f"User [{uid}] : Not authorized to perform CREATE GROUP")):
        alice.group.allocate("mine")
    with pytest.raises(pyone.OneAuthorizationException, match=re.escape(f"User [{uid}] : Not authorized to perform USE USER [{bob}].")):
        alice.user.info(bob)
    with pytest.raises(pyone.OneAuthorizationException, match=re.escape("Not authorized to perform USE USER [0].")):
        alice.user.info(0)
    with pytest.raises(pyone.OneAuthorizationException):
        alice.user.delete(bob)
    with pytest.raises(pyone.OneAuthorizationException):
        alice.user.addgroup(uid, 0)  # making herself an admin
    assert alice.user.info(-1).ID == uid and [u.ID for u in alice.userpool.info().USER] == [uid]
    assert sorted(u.NAME for u in world.one.userpool.info().USER) == ["alice", "bob", "carol", "oneadmin"]
    assert [g.ID for g in alice.grouppool.info().GROUP] == [world.devs]
    assert world.one.user.info(uid).GROUPS.ID == [world.devs]


def test_nic_needs_use_of_its_network(world: World) -> None:
    """A NIC on a network the owner may not USE: AUTHORIZATION ``USE NET [id]``, no VM, no lease."""
    one, net = world.one, world.net
    before = [vm.ID for vm in one.vmpool.info(-2, -1, -1, -2).VM]
    nic = f"CPU = 0.5 MEMORY = 64 NIC = [ NETWORK_ID = {net} ]"
    for user in ("bob", "carol"):
        with pytest.raises(pyone.OneAuthorizationException, match=refusal(world.uids[user], "USE", KINDS[2], net)):
            world.servers[user].vm.allocate(nic, True)
    template_id = world.servers["alice"].template.allocate(f'NAME = "on-lan" {nic}')
    world.servers["alice"].template.chmod(template_id, 1, 1, 0, 1, 0, 0, 0, 0, 0)  # bob may instantiate it ...
    with pytest.raises(pyone.OneAuthorizationException, match=refusal(world.uids["bob"], "USE", KINDS[2], net)):
        world.servers["bob"].template.instantiate(template_id, "", True, "", False)  # ... not use its network
    assert [vm.ID for vm in one.vmpool.info(-2, -1, -1, -2).VM] == before
    assert one.vn.info(net).USED_LEASES == 0 and one.vn.info(net).AR_POOL.AR[0].LEASES.LEASE == []

    one.vn.chmod(net, *chmod_args("604"))
    vm_id = world.servers["carol"].vm.allocate(nic, True)
    assert one.vm.info(vm_id).TEMPLATE["NIC"]["IP"] == "10.4.0.1" and one.vn.info(net).USED_LEASES == 1

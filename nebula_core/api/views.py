"""The XML documents clients read, with OpenNebula's element names and order.

Built as strings, not trees: a pool of 10,000 VMs must render in a fraction of a second.
Numbers are bare, text is CDATA (as oned 6.x-7.4 writes it), and no document starts with
anything but ``<``, so that pyone recognises it as XML.
"""

from __future__ import annotations

import ipaddress
import json
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from xml.sax.saxutils import escape

from ..db import (
    AddressRange,
    Group,
    History,
    Hook,
    HookExecution,
    Host,
    LoginToken,
    Owned,
    User,
    VirtualMachine,
    VirtualNetwork,
    VMTemplate,
)
from ..network import mac_text
from ..permissions import BIT_NAMES
from ..template import Template

SHORT_VM_TEMPLATE = ("CPU", "MEMORY", "VCPU", "DISK", "NIC", "GRAPHICS")
VM_MONITORING_KEYS = ("CPU", "MEMORY", "NETRX", "NETTX", "DISKRDBYTES", "DISKWRBYTES", "DISKRDIOPS",
                      "DISKWRIOPS", "TIMESTAMP")


RowLike = Any  # a plain row (or any object) with the model's column names as attributes: pools read rows, not objects


def cdata(text: str) -> str:
    return "<![CDATA[" + text.replace("]]>", "]]]]><![CDATA[>") + "]]>"


def element(name: str, value: object) -> str:
    text = cdata(value) if isinstance(value, str) else str(int(value)) if isinstance(value, bool) else str(value)
    return f"<{name}>{text}</{name}>"


def permissions(obj: Owned | RowLike) -> str:
    """``<LOCK>`` (when locked) and ``<PERMISSIONS>``, which follow NAME in every owned object."""
    values = [(obj.permissions >> shift) & 1 for shift in range(8, -1, -1)]
    bits = "<PERMISSIONS>" + "".join(f"<{n}>{v}</{n}>" for n, v in zip(BIT_NAMES, values)) + "</PERMISSIONS>"
    if not obj.lock_level:
        return bits
    return (f"<LOCK><LOCKED>{obj.lock_level}</LOCKED><OWNER>{obj.uid}</OWNER><TIME>{obj.lock_time}</TIME>"
            f"<REQ_ID>-1</REQ_ID></LOCK>{bits}")


def ids(name: str, values: Iterable[int]) -> str:
    inner = "".join(f"<ID>{v}</ID>" for v in values)
    return f"<{name}>{inner}</{name}>" if inner else f"<{name}/>"


def _without_name(template_json: str) -> Template:
    """A stored TEMPLATE as oned shows it: without NAME, which only the NAME element carries
    (oned takes it out when it stores a network or a template; here a rename left it stale)."""
    template = Template.from_json(template_json)
    template.remove("NAME")
    return template


@dataclass(frozen=True)
class Names:
    """User and group names by id, looked up once per document."""

    users: Mapping[int, str]
    groups: Mapping[int, str]


def history(h: History | RowLike, full: bool = True) -> str:
    parts = [element("OID", h.vm_id), element("SEQ", h.seq), element("HOSTNAME", h.hostname), element("HID", h.host_id),
             "<CID>0</CID>"]
    if full:
        parts += [element("STIME", h.stime), element("ETIME", h.etime)]
    parts += [element("VM_MAD", h.vm_mad), element("TM_MAD", h.tm_mad), "<DS_ID>0</DS_ID>"]
    if full:
        parts += ["<PLAN_ID>-1</PLAN_ID><ACTION_ID>-1</ACTION_ID>"]
        parts += [element(k, getattr(h, k.lower())) for k in ("PSTIME", "PETIME", "RSTIME", "RETIME", "ESTIME", "EETIME")]
    parts.append(element("ACTION", h.action))
    if full:
        parts.append("<UID>-1</UID><GID>-1</GID><REQUEST_ID>-1</REQUEST_ID>")
    return "<HISTORY>" + "".join(parts) + "</HISTORY>"


def _vm_monitoring(monitoring_json: str, short: bool) -> str:
    if monitoring_json in ("", "{}"):
        return "<MONITORING/>"
    data = json.loads(monitoring_json)
    keys = ("CPU", "MEMORY") if short else VM_MONITORING_KEYS
    inner = "".join(element(k, data[k]) for k in keys if isinstance(data.get(k), (int, float)))
    return f"<MONITORING>{inner}</MONITORING>" if inner else "<MONITORING/>"


def vm(v: VirtualMachine | RowLike, names: Names, records: Sequence[History | RowLike], full: bool = True) -> str:
    """A ``<VM>``: the full form (vm.info, vmpool.infoextended) or the short one (vmpool.info).

    ``v`` may be an ORM object or a plain row of the vms table (pools read rows: faster).
    """
    template = Template.from_json(v.template)
    if not full:
        template = Template([(k, val) for k, val in template if k in SHORT_VM_TEMPLATE])
    head = (f"<VM><ID>{v.id}</ID><UID>{v.uid}</UID><GID>{v.gid}</GID>{element('UNAME', names.users.get(v.uid, ''))}"
            f"{element('GNAME', names.groups.get(v.gid, ''))}{element('NAME', v.name)}")
    if full:
        head += permissions(v)
    head += f"<LAST_POLL>{v.last_poll}</LAST_POLL><STATE>{v.state}</STATE><LCM_STATE>{v.lcm_state}</LCM_STATE>"
    if full:
        head += f"<PREV_STATE>{v.prev_state}</PREV_STATE><PREV_LCM_STATE>{v.prev_lcm_state}</PREV_LCM_STATE>"
    parts = [
        head, f"<RESCHED>{v.resched}</RESCHED><STIME>{v.stime}</STIME><ETIME>{v.etime}</ETIME>",
        element("DEPLOY_ID", v.deploy_id), _vm_monitoring(v.monitoring, short=not full),
        "<SCHED_ACTIONS/>" if full else "",
        template.to_xml("TEMPLATE"), Template.from_json(v.user_template).to_xml("USER_TEMPLATE"),
        "<HISTORY_RECORDS>", *(history(h, full) for h in records), "</HISTORY_RECORDS>",
        "<BACKUPS><BACKUP_CONFIG/><BACKUP_IDS/></BACKUPS></VM>" if full else "</VM>",
    ]
    return "".join(parts)


class RenderCache:
    """The last text rendered for each object, reused while its row is unchanged.

    A pool of 10,000 VMs is mostly rows that did not change since the last listing; comparing a
    row with the one kept costs far less than rendering it again. One entry per object id.
    """

    def __init__(self, limit: int = 200_000) -> None:
        self.limit = limit
        self._entries: dict[int, tuple[Any, str]] = {}

    def text(self, obj_id: int, key: Any, render: Callable[[], str]) -> str:
        kept = self._entries.get(obj_id)
        if kept is not None and kept[0] == key:
            return kept[1]
        text = render()
        if len(self._entries) >= self.limit:
            self._entries.clear()
        self._entries[obj_id] = (key, text)
        return text


@dataclass(frozen=True)
class HostUsage:
    cpu: int  # cores x 100 allocated to VMs
    mem: int  # KB
    vms: tuple[int, ...]


def host_monitoring(h: Host, monitoring: Mapping[str, Any]) -> str:
    """The host's latest probe as a ``<MONITORING>`` record ("" before the first one)."""
    if not h.last_mon_time:
        return ""
    capacity = "".join(
        element(tag, int(monitoring[key])) for tag, key in
        (("FREE_CPU", "FREECPU"), ("FREE_MEMORY", "FREEMEMORY"), ("USED_CPU", "USEDCPU"), ("USED_MEMORY", "USEDMEMORY"))
        if isinstance(monitoring.get(key), (int, float))
    )
    return f"<MONITORING>{element('TIMESTAMP', h.last_mon_time)}{element('ID', h.id)}<CAPACITY>{capacity}</CAPACITY></MONITORING>"


def host(h: Host, usage: HostUsage) -> str:
    monitoring = json.loads(h.monitoring or "{}")
    template = Template.from_json(h.template)
    for key in ("HYPERVISOR", "ARCH", "MODELNAME", "CPUSPEED", "HOSTNAME"):
        if key in monitoring and key not in template:
            template.add(key, str(monitoring[key]))
    for key in ("TOTALCPU", "TOTALMEMORY"):
        if key in monitoring:
            template.set(key, str(monitoring[key]))
    for key, value in (("IM_MAD", h.im_mad), ("VM_MAD", h.vm_mad), ("RESERVED_CPU", ""), ("RESERVED_MEM", "")):
        if key not in template:  # oned keeps these in the host's TEMPLATE too
            template.add(key, value)
    share = "".join([
        element("MEM_USAGE", usage.mem), element("CPU_USAGE", usage.cpu), element("TOTAL_MEM", h.total_mem),
        element("TOTAL_CPU", h.total_cpu), element("MAX_MEM", h.total_mem), element("MAX_CPU", h.total_cpu),
        element("RUNNING_VMS", len(usage.vms)), "<VMS_THREAD>0</VMS_THREAD>",
        ("<DATASTORES><DISK_USAGE>0</DISK_USAGE><FREE_DISK>0</FREE_DISK><MAX_DISK>0</MAX_DISK><USED_DISK>0</USED_DISK>"
         "</DATASTORES><PCI_DEVICES/><NUMA_NODES/>"),
    ])
    mon = host_monitoring(h, monitoring) or "<MONITORING/>"
    return "".join([
        "<HOST>", element("ID", h.id), element("NAME", h.name), element("STATE", h.state),
        element("PREV_STATE", h.prev_state), element("IM_MAD", h.im_mad), element("VM_MAD", h.vm_mad),
        element("CLUSTER_ID", h.cluster_id), element("CLUSTER", "default"), f"<HOST_SHARE>{share}</HOST_SHARE>",
        ids("VMS", usage.vms), template.to_xml("TEMPLATE"), mon, "</HOST>",
    ])


LeaseRow = tuple[int, int | None, int | None]  # index, VM, reservation


def vnet(n: VirtualNetwork, names: Names, ranges: Sequence[AddressRange], leases: Mapping[int, list[LeaseRow]],
         full: bool = True) -> str:
    """A ``<VNET>``; ``leases`` maps ar_id to the (index, vm_id, reservation_id) rows in use."""
    used = sum(len(v) for v in leases.values())
    template = _without_name(n.template)
    template.set("BRIDGE", n.bridge)  # oned keeps both in TEMPLATE too: opennebula-cli reads the bridge there
    template.set("VN_MAD", n.vn_mad)
    ars = "".join(_address_range(ar, leases.get(ar.ar_id, []), full) for ar in ranges)
    return "".join([
        "<VNET>", element("ID", n.id), element("UID", n.uid), element("GID", n.gid),
        element("UNAME", names.users.get(n.uid, "")), element("GNAME", names.groups.get(n.gid, "")),
        element("NAME", n.name), permissions(n), "<CLUSTERS><ID>0</ID></CLUSTERS>",
        element("BRIDGE", n.bridge), element("BRIDGE_TYPE", "linux"), element("STATE", n.state),
        "<PREV_STATE>0</PREV_STATE>", element("PARENT_NETWORK_ID", "" if n.parent_id is None else str(n.parent_id)), element("VN_MAD", n.vn_mad),
        element("PHYDEV", ""), "<VLAN_ID_AUTOMATIC>0</VLAN_ID_AUTOMATIC><OUTER_VLAN_ID_AUTOMATIC>0</OUTER_VLAN_ID_AUTOMATIC>",
        element("USED_LEASES", used), "<VROUTERS/>",
        ids("UPDATED_VMS", sorted({vm for v in leases.values() for _, vm, _ in v if vm is not None})),
        "<OUTDATED_VMS/><UPDATING_VMS/><ERROR_VMS/>",
        template.to_xml("TEMPLATE"), f"<AR_POOL>{ars}</AR_POOL>", "</VNET>",
    ])


def _address_range(ar: AddressRange, taken: list[LeaseRow], full: bool) -> str:
    parts = [element("AR_ID", ar.ar_id)]
    if ar.ip_start is not None:
        parts += [element("IP", str(ipaddress.IPv4Address(ar.ip_start))),
                  element("IP_END", str(ipaddress.IPv4Address(ar.ip_start + ar.size - 1)))]
    parts += [element("MAC", mac_text(ar.mac_start)), element("MAC_END", mac_text(ar.mac_start + ar.size - 1)),
              element("SIZE", ar.size), element("TYPE", ar.type)]
    if not full:
        parts.append(element("ALLOCATED", ""))
        return "<AR>" + "".join(parts) + "</AR>"
    lease_xml = []
    for idx, vm_id, reservation in sorted(taken, key=lambda row: row[0]):
        ip = "" if ar.ip_start is None else element("IP", str(ipaddress.IPv4Address(ar.ip_start + idx)))
        user = element("VNET", reservation) if reservation is not None else element("VM", -1 if vm_id is None else vm_id)
        lease_xml.append(f"<LEASE>{ip}{element('MAC', mac_text(ar.mac_start + idx))}{user}</LEASE>")
    parts += [element("NEXT_INDEX", ar.next_index), element("USED_LEASES", len(taken)),
              "<LEASES>" + "".join(lease_xml) + "</LEASES>"]
    return "<AR>" + "".join(parts) + "</AR>"


def user(u: User, names: Names, groups: Sequence[int], tokens: Sequence[LoginToken] = ()) -> str:
    """A ``<USER>``; ``tokens`` show by their digest (the token itself is never kept)."""
    token_xml = "".join(f"<LOGIN_TOKEN>{element('TOKEN', t.digest)}{element('EXPIRATION_TIME', t.expires)}"
                        f"{element('EGID', t.egid)}</LOGIN_TOKEN>" for t in tokens)
    return "".join([
        "<USER>", element("ID", u.id), element("GID", u.gid), ids("GROUPS", groups),
        element("GNAME", names.groups.get(u.gid, "")), element("NAME", u.name), element("PASSWORD", u.password),
        element("AUTH_DRIVER", u.auth_driver), element("ENABLED", int(u.enabled)), token_xml,
        Template.from_json(u.template).to_xml("TEMPLATE"), "</USER>",
    ])


def vm_template(t: VMTemplate, names: Names) -> str:
    return "".join([
        "<VMTEMPLATE>", element("ID", t.id), element("UID", t.uid), element("GID", t.gid),
        element("UNAME", names.users.get(t.uid, "")), element("GNAME", names.groups.get(t.gid, "")),
        element("NAME", t.name), permissions(t), element("REGTIME", t.regtime),
        _without_name(t.template).to_xml("TEMPLATE"), "</VMTEMPLATE>",
    ])


def group(g: Group, members: Sequence[int]) -> str:
    return "".join([
        "<GROUP>", element("ID", g.id), element("NAME", g.name), Template.from_json(g.template).to_xml("TEMPLATE"),
        ids("USERS", members), "<ADMINS/>", "</GROUP>",
    ])


def hook(h: Hook, records: Sequence[HookExecution] | None = None) -> str:
    """A ``<HOOK>``: no owner nor permissions, ``<LOCK>`` while locked; ``records`` (oldest first) make
    its ``<HOOKLOG>`` (``None``: none at all, as in the pool)."""
    lock = (f"<LOCK><LOCKED>{h.lock_level}</LOCKED><OWNER>0</OWNER><TIME>{h.lock_time}</TIME><REQ_ID>-1</REQ_ID></LOCK>"
            if h.lock_level else "")
    log = "" if records is None else hook_log(records)
    return "".join(["<HOOK>", element("ID", h.id), element("NAME", h.name), element("TYPE", h.type), lock,
                    Template.from_json(h.template).to_xml("TEMPLATE"), log, "</HOOK>"])


def hook_log(records: Iterable[HookExecution]) -> str:
    """``<HOOKLOG>`` as oned writes it: values escaped, not CDATA-wrapped."""
    return "<HOOKLOG>" + "".join(hook_execution(r) for r in records) + "</HOOKLOG>"


def hook_execution(r: HookExecution) -> str:
    result = (f"<EXECUTION_RESULT><COMMAND>{escape(r.command)}</COMMAND><STDOUT>{escape(r.stdout)}</STDOUT>"
              f"<STDERR>{escape(r.stderr)}</STDERR><CODE>{r.code}</CODE></EXECUTION_RESULT>")
    remote = f"<REMOTE_HOST>{escape(r.remote_host)}</REMOTE_HOST>" if r.remote_host else ""
    retry = "<RETRY>yes</RETRY>" if r.retry else ""
    return (f"<HOOK_EXECUTION_RECORD><HOOK_ID>{r.hook_id}</HOOK_ID><EXECUTION_ID>{r.execution_id}</EXECUTION_ID>"
            f"<TIMESTAMP>{r.timestamp}</TIMESTAMP><ARGUMENTS>{escape(r.arguments)}</ARGUMENTS>{result}{remote}{retry}"
            "</HOOK_EXECUTION_RECORD>")


def pool(root: str, items: Iterable[str]) -> str:
    return f"<{root}>" + "".join(items) + f"</{root}>"


class Document:
    """An XML document written piece by piece as it is sent: a pool of 10,000 VMs never sits
    in memory as one string (nor as its escaped copy). Its pieces must need no database, and
    come escaped already for the XML-RPC string that carries them (so that a cached piece is
    escaped once, not on every listing)."""

    def __init__(self, root: str, escaped_items: Iterable[str]) -> None:
        self.root = root
        self.items = escaped_items

    def __iter__(self) -> Iterator[str]:
        yield f"&lt;{self.root}&gt;"
        yield from self.items
        yield f"&lt;/{self.root}&gt;"

"""Nebula's OCA: a small typed client of the XML-RPC API (OpenNebula 7.4 wire format).

The CLI and scripts talk to the daemon through this module only, so that they see what any
OpenNebula client sees. Replies are parsed into plain dataclasses; templates become
dicts the way pyone shows them (text, a dict per vector, a list when a name repeats).

A Client keeps one HTTP connection open between calls; it is not thread-safe (one per thread).

VMs, virtual networks and VM templates have owners, permission bits and locks; the operations on
those (chmod, chown, rename, update, lock, unlock) are one set of methods taking the object's Kind:
``client.chmod(Kind.VM, 5, "640")``. Arguments the client can check itself (an octal mode, an
address) raise ValueError before anything is sent; everything the server refuses is a OneError
with OpenNebula's code.
"""

from __future__ import annotations

import abc
import base64
import dataclasses
import enum
import http.client
import ipaddress
import os
import re
import xml.etree.ElementTree as ET
import xmlrpc.client
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, ClassVar, Self, TypeVar
from urllib.parse import urlsplit
from xml.parsers.expat import ExpatError

from .permissions import BIT_NAMES, LockLevel, octal
from .states import HostState, LCMState, VMState, VNetState
from .template import Template
from .template import Value as TemplateValue

DEFAULT_ENDPOINT = "http://localhost:2633/RPC2"
DEFAULT_AUTH_FILE = "~/.one/one_auth"

TemplateDict = dict[str, TemplateValue | list[TemplateValue]]


class ClientError(Exception):
    """The client could not do what was asked: bad configuration, or (as OneError) a refusal."""


class OneError(ClientError):
    """A failed call: OpenNebula's error code (0x400 NO_EXISTS...), or -1 when the call got no answer."""

    def __init__(self, message: str, code: int = -1) -> None:
        super().__init__(message)
        self.message = message
        self.code = code


class Recover(enum.IntEnum):
    """``one.vm.recover`` operations: how to settle a VM stuck in a failure or transient state."""

    FAILURE = 0
    SUCCESS = 1
    RETRY = 2
    DELETE = 3
    DELETE_RECREATE = 4


class HostStatus(enum.IntEnum):
    """``one.host.status`` values."""

    ENABLED = 0
    DISABLED = 1
    OFFLINE = 2


class Kind(enum.StrEnum):
    """The objects that have an owner, permission bits and a lock; the value is their method prefix."""

    VM = "vm"
    VNET = "vn"
    TEMPLATE = "template"


class PoolFilter(enum.IntEnum):
    """Whose objects a pool listing holds (OpenNebula's filter flags); a user id (>= 0) works too.

    Every listing is narrowed to what the caller may USE.
    """

    GROUP = -1  # the caller's and its groups'
    ALL = -2
    MINE = -3
    PRIMARY_GROUP = -4  # the caller's primary group's


DEFAULT_TOKEN_SECONDS = 36000  # opennebula-cli's token-create default: 10 hours
_MAC = re.compile(r"[0-9a-fA-F]{2}(:[0-9a-fA-F]{2}){5}")


def lease_template(address: str) -> str:
    """``LEASES = [ IP = ... ]`` for an IPv4 address, ``[ MAC = ... ]`` for a MAC; ValueError for anything else."""
    if _MAC.fullmatch(address):
        return Template([("LEASES", {"MAC": address.lower()})]).to_text()
    try:
        ipaddress.IPv4Address(address)
    except ValueError:
        raise ValueError(f"not an IPv4 or MAC address: {address!r}") from None
    return Template([("LEASES", {"IP": address})]).to_text()


def enum_name(table: type[enum.IntEnum], number: int) -> str:
    """The name of ``number`` in ``table``, or the number itself when a newer server sends one we do not know."""
    try:
        return table(number).name
    except ValueError:
        return str(number)


# -- reading XML ---------------------------------------------------------------------------


def _text(element: ET.Element, path: str) -> str:
    return element.findtext(path) or ""


def _int(element: ET.Element, path: str) -> int:
    """An integer element; absent or empty reads as 0, anything else non-numeric is a malformed reply."""
    return int(element.findtext(path) or 0)


def _float(element: ET.Element, path: str) -> float:
    return float(element.findtext(path) or 0)


def _record(element: ET.Element) -> dict[str, str]:
    """A flat element (HISTORY, LEASE) as a dict of its children's text."""
    return {child.tag: child.text or "" for child in element}


def _template(element: ET.Element | None) -> TemplateDict:
    """A TEMPLATE or USER_TEMPLATE as pyone shows it (names are checked as the daemon checks them)."""
    if element is None:
        return {}
    return Template(
        (child.tag, _record(child) if len(child) else child.text or "") for child in element
    ).to_dict()


def _ids(element: ET.Element, path: str) -> list[int]:
    """The numbers of a list such as ``GROUPS/ID``."""
    return [int(text) for text in (e.text for e in element.iterfind(path)) if text]


def _permissions(element: ET.Element) -> str:
    """PERMISSIONS as three octal digits ("640"); "" when the reply has none (e.g. oned's short VM form)."""
    found = element.find("PERMISSIONS")
    if found is None:
        return ""
    bits = 0
    for name in BIT_NAMES:
        bits = bits << 1 | (_int(found, name) & 1)
    return f"{bits:03o}"


def _ownership(element: ET.Element) -> dict[str, Any]:
    """What every owned object (VM, VNET, VMTEMPLATE) carries: owner, group, permissions and lock."""
    return {"uid": _int(element, "UID"), "gid": _int(element, "GID"), "uname": _text(element, "UNAME"),
            "gname": _text(element, "GNAME"), "permissions": _permissions(element), "lock": _int(element, "LOCK/LOCKED")}


def _latest_sample(root: ET.Element) -> TemplateDict:
    """The last MONITORING record of a MONITORING_DATA document, {} when there is none yet."""
    samples = root.findall("MONITORING")
    return _template(samples[-1]) if samples else {}


def _samples_by_id(root: ET.Element) -> dict[int, TemplateDict]:
    """The latest MONITORING record of each object in a MONITORING_DATA document, by the object's ID."""
    return {_int(sample, "ID"): _template(sample) for sample in root.iterfind("MONITORING")}


class _OneObject(abc.ABC):
    """An object of the API, read from its XML element (``TAG``, in an info reply or a pool)."""

    TAG: ClassVar[str]

    @classmethod
    @abc.abstractmethod
    def from_xml(cls, element: ET.Element) -> Self:
        """The object an element describes; ValueError if a number in it is not one."""


T = TypeVar("T", bound=_OneObject)
R = TypeVar("R")


@dataclasses.dataclass
class VM(_OneObject):
    """A virtual machine; ``state_name`` is the LCM name while ACTIVE (e.g. RUNNING), else the VM state's.

    ``permissions`` is octal ("600"), "" if the reply had none; ``lock`` is a LockLevel, 0 when unlocked.
    """

    TAG: ClassVar[str] = "VM"

    id: int
    name: str
    uid: int
    gid: int
    uname: str
    gname: str
    permissions: str
    lock: int
    state: int
    lcm_state: int
    state_name: str
    host: str  # hostname of the last placement, "" if never placed
    cpu: float
    memory: int  # MB
    ips: list[str]
    stime: int
    etime: int
    deploy_id: str
    template: TemplateDict
    user_template: TemplateDict
    history: list[dict[str, str]]

    @classmethod
    def from_xml(cls, element: ET.Element) -> Self:
        state, lcm_state = _int(element, "STATE"), _int(element, "LCM_STATE")
        history = [_record(h) for h in element.iterfind("HISTORY_RECORDS/HISTORY")]
        return cls(
            id=_int(element, "ID"), name=_text(element, "NAME"), **_ownership(element), state=state, lcm_state=lcm_state,
            state_name=enum_name(LCMState, lcm_state) if state == VMState.ACTIVE else enum_name(VMState, state),
            host=history[-1].get("HOSTNAME", "") if history else "",
            cpu=_float(element, "TEMPLATE/CPU"), memory=_int(element, "TEMPLATE/MEMORY"),
            ips=[ip for ip in (nic.findtext("IP") for nic in element.iterfind("TEMPLATE/NIC")) if ip],
            stime=_int(element, "STIME"), etime=_int(element, "ETIME"), deploy_id=_text(element, "DEPLOY_ID"),
            template=_template(element.find("TEMPLATE")), user_template=_template(element.find("USER_TEMPLATE")),
            history=history,
        )


@dataclasses.dataclass
class Host(_OneObject):
    """A host; CPU in percent of one core (100 = 1 core), memory in KB, as OpenNebula counts them."""

    TAG: ClassVar[str] = "HOST"

    id: int
    name: str
    state: int
    state_name: str
    im_mad: str
    vm_mad: str
    running_vms: int
    cpu_usage: int  # allocated to VMs
    max_cpu: int
    mem_usage: int  # KB allocated to VMs
    max_mem: int
    template: TemplateDict

    @classmethod
    def from_xml(cls, element: ET.Element) -> Self:
        state = _int(element, "STATE")
        return cls(
            id=_int(element, "ID"), name=_text(element, "NAME"), state=state, state_name=enum_name(HostState, state),
            im_mad=_text(element, "IM_MAD"), vm_mad=_text(element, "VM_MAD"),
            running_vms=_int(element, "HOST_SHARE/RUNNING_VMS"), cpu_usage=_int(element, "HOST_SHARE/CPU_USAGE"),
            max_cpu=_int(element, "HOST_SHARE/MAX_CPU"), mem_usage=_int(element, "HOST_SHARE/MEM_USAGE"),
            max_mem=_int(element, "HOST_SHARE/MAX_MEM"), template=_template(element.find("TEMPLATE")),
        )


@dataclasses.dataclass
class AddressRange:
    """One address range of a network (``AR_POOL/AR``): ``size`` consecutive addresses from ``ip`` and ``mac``.

    ``ip`` and ``ip_end`` are "" for an ETHER range; ``used_leases`` is 0 in pool replies, which omit it.
    """

    ar_id: int
    type: str
    ip: str
    ip_end: str
    mac: str
    mac_end: str
    size: int
    used_leases: int

    @classmethod
    def from_xml(cls, element: ET.Element) -> Self:
        return cls(
            ar_id=_int(element, "AR_ID"), type=_text(element, "TYPE"), ip=_text(element, "IP"),
            ip_end=_text(element, "IP_END"), mac=_text(element, "MAC"), mac_end=_text(element, "MAC_END"),
            size=_int(element, "SIZE"), used_leases=_int(element, "USED_LEASES"),
        )


@dataclasses.dataclass
class VNet(_OneObject):
    """A virtual network; ``size`` counts the addresses of all its ranges, ``leases`` those in use.

    ``leases`` is empty in pool replies (OpenNebula lists them only in ``one.vn.info``). A lease of
    a held address has VM -1; one lent to a reservation names it as VNET. ``parent_id`` is the
    network a reservation was carved from, None for any other network.
    """

    TAG: ClassVar[str] = "VNET"

    id: int
    name: str
    uid: int
    gid: int
    uname: str
    gname: str
    permissions: str
    lock: int
    parent_id: int | None
    state: int
    state_name: str
    bridge: str
    vn_mad: str
    used_leases: int
    size: int
    ranges: list[AddressRange]
    leases: list[dict[str, str]]  # IP, MAC, VM ... plus the AR_ID of its range
    template: TemplateDict

    @classmethod
    def from_xml(cls, element: ET.Element) -> Self:
        state = _int(element, "STATE")
        ranges = element.findall("AR_POOL/AR")
        parent = _text(element, "PARENT_NETWORK_ID")
        return cls(
            id=_int(element, "ID"), name=_text(element, "NAME"), **_ownership(element),
            parent_id=int(parent) if parent else None, state=state,
            state_name=enum_name(VNetState, state), bridge=_text(element, "BRIDGE"), vn_mad=_text(element, "VN_MAD"),
            used_leases=_int(element, "USED_LEASES"), size=sum(_int(ar, "SIZE") for ar in ranges),
            ranges=[AddressRange.from_xml(ar) for ar in ranges],
            leases=[{"AR_ID": _text(ar, "AR_ID"), **_record(lease)} for ar in ranges
                    for lease in ar.iterfind("LEASES/LEASE")],
            template=_template(element.find("TEMPLATE")),
        )


@dataclasses.dataclass
class LoginToken:
    """A login token as the server lists it: Nebula shows its SHA-256 digest, since it never keeps the token.

    ``expiration`` is epoch seconds, -1 for never; ``egid`` the one group the token acts in, -1 for all.
    """

    token: str
    expiration: int
    egid: int

    @classmethod
    def from_xml(cls, element: ET.Element) -> Self:
        return cls(token=_text(element, "TOKEN"), expiration=_int(element, "EXPIRATION_TIME"),
                   egid=_int(element, "EGID"))


@dataclasses.dataclass
class User(_OneObject):
    """A user account: its primary group (``gid``), all its groups, its login tokens and template."""

    TAG: ClassVar[str] = "USER"

    id: int
    name: str
    gid: int
    gname: str
    groups: list[int]
    auth_driver: str
    enabled: bool
    tokens: list[LoginToken]
    template: TemplateDict

    @classmethod
    def from_xml(cls, element: ET.Element) -> Self:
        return cls(
            id=_int(element, "ID"), name=_text(element, "NAME"), gid=_int(element, "GID"),
            gname=_text(element, "GNAME"), groups=_ids(element, "GROUPS/ID"), auth_driver=_text(element, "AUTH_DRIVER"),
            enabled=_text(element, "ENABLED").lower() in ("1", "true"),  # 1.4 wrote True/Fase
            tokens=[LoginToken.from_xml(token) for token in element.iterfind("LOGIN_TOKEN")],
            template=_template(element.find("TEMPLATE")),
        )


@dataclasses.dataclass
class VMTemplate(_OneObject):
    """A VM template that users instantiate; ``permissions`` and ``lock`` as for a VM."""

    TAG: ClassVar[str] = "VMTEMPLATE"

    id: int
    name: str
    uid: int
    gid: int
    uname: str
    gname: str
    permissions: str
    lock: int
    regtime: int
    template: TemplateDict

    @classmethod
    def from_xml(cls, element: ET.Element) -> Self:
        return cls(
            id=_int(element, "ID"), name=_text(element, "NAME"), **_ownership(element),
            regtime=_int(element, "REGTIME"), template=_template(element.find("TEMPLATE")),
        )


@dataclasses.dataclass
class Group(_OneObject):
    """A group of users, and its template."""

    TAG: ClassVar[str] = "GROUP"

    id: int
    name: str
    users: list[int]
    template: TemplateDict

    @classmethod
    def from_xml(cls, element: ET.Element) -> Self:
        return cls(id=_int(element, "ID"), name=_text(element, "NAME"), users=_ids(element, "USERS/ID"),
                   template=_template(element.find("TEMPLATE")))


@dataclasses.dataclass
class HookRecord:
    """One run of a script hook: ``stdout``/``stderr`` decoded from oned's base64, ``code`` the exit status."""

    hook_id: int
    execution_id: int
    timestamp: int
    arguments: str
    command: str
    stdout: str
    stderr: str
    code: int
    retry: bool
    remote_host: str

    @classmethod
    def from_xml(cls, element: ET.Element) -> Self:
        return cls(
            hook_id=_int(element, "HOOK_ID"), execution_id=_int(element, "EXECUTION_ID"),
            timestamp=_int(element, "TIMESTAMP"), arguments=_text(element, "ARGUMENTS"),
            command=_text(element, "EXECUTION_RESULT/COMMAND"), stdout=_base64(_text(element, "EXECUTION_RESULT/STDOUT")),
            stderr=_base64(_text(element, "EXECUTION_RESULT/STDERR")), code=_int(element, "EXECUTION_RESULT/CODE"),
            retry=_text(element, "RETRY").lower() == "yes", remote_host=_text(element, "REMOTE_HOST"),
        )


def _base64(text: str) -> str:
    """A hook's output as text (oned keeps it in base64); the text itself if it is not base64."""
    try:
        return base64.b64decode("".join(text.split()), validate=True).decode(errors="replace")
    except ValueError:
        return text


@dataclasses.dataclass
class Hook(_OneObject):
    """A script hook: TYPE ``state`` or ``api``, its template, and (from ``hook_info``) its execution log."""

    TAG: ClassVar[str] = "HOOK"

    id: int
    name: str
    type: str
    lock: int
    template: TemplateDict
    log: list[HookRecord]

    @classmethod
    def from_xml(cls, element: ET.Element) -> Self:
        return cls(id=_int(element, "ID"), name=_text(element, "NAME"), type=_text(element, "TYPE"),
                   lock=_int(element, "LOCK/LOCKED"), template=_template(element.find("TEMPLATE")),
                   log=[HookRecord.from_xml(r) for r in element.iterfind("HOOKLOG/HOOK_EXECUTION_RECORD")])


# -- transport -----------------------------------------------------------------------------


class _Transport(xmlrpc.client.Transport):
    """HTTP with a deadline on each socket operation; the base class keeps the connection between calls."""

    def __init__(self, timeout: float) -> None:
        super().__init__()
        self.timeout = timeout

    def make_connection(self, host: Any) -> http.client.HTTPConnection:
        connection = super().make_connection(host)
        connection.timeout = self.timeout
        return connection


# mypy sees two make_connection signatures (HTTPConnection, HTTPSConnection); the MRO runs ours, then SafeTransport's.
class _SafeTransport(_Transport, xmlrpc.client.SafeTransport):  # type: ignore[misc]
    """The same over HTTPS."""


def _read_session(auth_file: str | None) -> str:
    """The first line of the credentials file (``ONE_AUTH``, else ~/.one/one_auth), as OpenNebula's tools read it."""
    path = Path(auth_file or DEFAULT_AUTH_FILE).expanduser()
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise ClientError(f"cannot read the credentials file {path}: {reason} "
                          "(it holds one line user:password; ONE_AUTH names another file)") from None
    return lines[0].strip() if lines else ""


def _lower_first(text: str) -> str:
    return text[:1].lower() + text[1:]


class Client:
    """A session with a Nebula (or OpenNebula 7.x) front-end.

    ``endpoint`` defaults to env ``ONE_XMLRPC``, then ``http://localhost:2633/RPC2``; ``session``
    (``user:password``) to the first line of the file named by env ``ONE_AUTH``, then
    ``~/.one/one_auth``. ``timeout`` bounds each socket operation, so a hung server cannot hang
    a script. Raises ClientError when the endpoint or the credentials are unusable.
    """

    def __init__(self, endpoint: str | None = None, session: str | None = None, timeout: float = 60.0) -> None:
        self.endpoint = endpoint or os.environ.get("ONE_XMLRPC") or DEFAULT_ENDPOINT
        scheme = urlsplit(self.endpoint).scheme
        if scheme not in ("http", "https"):
            raise ClientError(f"the endpoint must be an http:// or https:// URL, not {self.endpoint!r}")
        session = session if session is not None else _read_session(os.environ.get("ONE_AUTH"))
        if ":" not in session:
            raise ClientError("the credentials must have the form user:password")
        self.session = session
        transport = (_SafeTransport if scheme == "https" else _Transport)(timeout)
        self._proxy = xmlrpc.client.ServerProxy(self.endpoint, transport=transport)

    # -- the wire --------------------------------------------------------------------------

    def call(self, method: str, *args: Any) -> Any:
        """Call ``method`` with the session prepended; the value of ``[true, value, 0]``.

        Raises OneError: with the server's message and code for ``[false, message, code, ...]``,
        with code -1 for an XML-RPC fault or a server that cannot be reached or understood.
        """
        try:
            reply = getattr(self._proxy, method)(self.session, *args)
        except xmlrpc.client.Fault as fault:
            raise OneError(f"{method}: XML-RPC fault {fault.faultCode}: {fault.faultString}") from None
        except xmlrpc.client.ProtocolError as exc:
            raise OneError(f"Nebula at {self.endpoint} answered HTTP {exc.errcode} {exc.errmsg}") from None
        except (OSError, http.client.HTTPException) as exc:
            reason = (exc.strerror if isinstance(exc, OSError) else None) or str(exc) or type(exc).__name__
            raise OneError(f"cannot reach Nebula at {self.endpoint}: {_lower_first(reason)}") from None
        except ExpatError as exc:
            raise OneError(f"{method}: the reply is not XML-RPC: {exc}") from None
        except OverflowError as exc:  # an int beyond XML-RPC's 32 bits, refused before sending
            raise OneError(f"{method}: {exc}") from None
        if not isinstance(reply, list) or len(reply) < 2 or not isinstance(reply[0], bool):
            raise OneError(f"{method}: malformed reply {reply!r:.200}")
        if not reply[0]:
            code = reply[2] if len(reply) > 2 and isinstance(reply[2], int) else -1
            raise OneError(str(reply[1]), code)
        return reply[1]

    def _parsed(self, method: str, what: str, read: Callable[[ET.Element], R], *args: Any) -> R:
        """``read`` applied to the XML reply of ``method``; a reply it cannot read is a OneError (code -1)."""
        value = self.call(method, *args)
        try:
            return read(ET.fromstring(value))
        except (ET.ParseError, TypeError, ValueError) as exc:
            raise OneError(f"{method}: malformed {what} document: {exc}") from None

    def _objects(self, kind: type[T], method: str, *args: Any) -> list[T]:
        """Every ``kind`` in the XML reply of ``method``: the pool's members, or the one object itself."""
        def members(root: ET.Element) -> list[T]:
            found = [root] if root.tag == kind.TAG else root.findall(kind.TAG)
            return [kind.from_xml(element) for element in found]

        return self._parsed(method, kind.TAG, members, *args)

    def _object(self, kind: type[T], method: str, object_id: int) -> T:
        found = self._objects(kind, method, object_id)
        if len(found) != 1:
            raise OneError(f"{method}: the reply holds no {kind.TAG}")
        return found[0]

    @property
    def username(self) -> str:
        """The user name of the session (what ``user_login`` takes for the caller itself)."""
        return self.session.split(":", 1)[0]

    def version(self) -> str:
        """The server's OpenNebula version, e.g. ``7.4.0``."""
        return str(self.call("one.system.version"))

    def system_config(self) -> TemplateDict:
        """The server's configuration as pyone shows it (PORT, MAC_PREFIX, VERSION...; DB for admins)."""
        return self._parsed("one.system.config", "OPENNEBULA_CONFIGURATION", _template)

    # -- what VMs, networks and templates share: owner, permissions, lock ----------------------

    def chmod(self, kind: Kind, object_id: int, permissions: str) -> None:
        """Set an object's nine permission bits from three octal digits, as chmod(1) reads them.

        ``"640"``: the owner may use and manage it, members of its group may use it (see it,
        instantiate a template, put a NIC on a network), others nothing. Changing an ``*_A``
        (admin) bit needs ADMIN on the object. ValueError unless three octal digits.
        """
        self.call(f"one.{kind.value}.chmod", object_id, *octal(permissions))

    def chown(self, kind: Kind, object_id: int, uid: int = -1, gid: int = -1) -> None:
        """Give an object another owner and/or group; -1 keeps it. Only admins give objects to other users;
        a user may move its own into one of its groups."""
        self.call(f"one.{kind.value}.chown", object_id, uid, gid)

    def rename(self, kind: Kind, object_id: int, name: str) -> None:
        """Give an object another name (a network's must stay unique)."""
        self.call(f"one.{kind.value}.rename", object_id, name)

    def update(self, kind: Kind, object_id: int, template_text: str, append: bool = False) -> None:
        """Replace the object's template with ``template_text``, or merge it in with ``append``.

        For a VM that is its USER_TEMPLATE (the system template changes by resize and actions);
        for a network or a VM template, its TEMPLATE.
        """
        self.call(f"one.{kind.value}.update", object_id, template_text, int(append))

    def lock(self, kind: Kind, object_id: int, level: LockLevel = LockLevel.USE) -> None:
        """Lock an object: every operation at ``level`` or above is refused (code LOCKED, 0x8000) to
        everyone, admins included, until unlock; reading it never is."""
        self.call(f"one.{kind.value}.lock", object_id, int(level), False)

    def unlock(self, kind: Kind, object_id: int) -> None:
        """Lift an object's lock; unlocking an unlocked object succeeds."""
        self.call(f"one.{kind.value}.unlock", object_id)

    # -- VMs -------------------------------------------------------------------------------

    def vm_allocate(self, template_text: str, hold: bool = False) -> int:
        """Create a VM from a template (text or XML); it starts PENDING, or HOLD when ``hold``."""
        return int(self.call("one.vm.allocate", template_text, hold))

    def vm_info(self, vm_id: int) -> VM:
        return self._object(VM, "one.vm.info", vm_id)

    def vm_action(self, action: str, vm_id: int) -> None:
        """A life-cycle action by its 7.4 name (terminate, poweroff, resume...)."""
        self.call("one.vm.action", action, vm_id)

    def vm_deploy(self, vm_id: int, host_id: int) -> None:
        """Place a PENDING/HOLD/STOPPED/UNDEPLOYED VM on a host now (capacity not enforced)."""
        self.call("one.vm.deploy", vm_id, host_id, False, -1)

    def vm_migrate(self, vm_id: int, host_id: int, live: bool = False) -> None:
        """Move a RUNNING VM: cold (save, move, restore) or live."""
        self.call("one.vm.migrate", vm_id, host_id, live, False, -1, 0)

    def vm_recover(self, vm_id: int, op: Recover) -> None:
        self.call("one.vm.recover", vm_id, int(op))

    def vm_resize(self, vm_id: int, cpu: float | None = None, vcpu: int | None = None, memory: int | None = None,
                  enforce: bool = True) -> None:
        """Change the CPU (physical cores), VCPU and MEMORY (MB) of a VM that is not running.

        The VM must be PENDING, HOLD, POWEROFF or UNDEPLOYED; a size left None keeps its value.
        With ``enforce`` a VM placed on a host only grows into what the host has free.
        ValueError when no size is given.
        """
        given = [(name, value) for name, value in (("CPU", cpu), ("VCPU", vcpu), ("MEMORY", memory)) if value is not None]
        if not given:
            raise ValueError("vm_resize needs cpu, vcpu or memory")
        template = Template((name, f"{value:g}" if isinstance(value, float) else str(value)) for name, value in given)
        self.call("one.vm.resize", vm_id, template.to_text(), enforce)

    def vm_monitoring(self, vm_id: int) -> TemplateDict:
        """The VM's latest monitoring sample (CPU percent, MEMORY KB, NETRX, NETTX, TIMESTAMP...); {} before the first."""
        return self._parsed("one.vm.monitoring", "MONITORING_DATA", _latest_sample, vm_id)

    def vm_list(self, filter: int = PoolFilter.ALL, state: int = -1) -> list[VM]:
        """VMs in the full form; ``filter`` a PoolFilter or a user id, ``state`` -1 all but DONE, -2 all (OPENNEBULA.md 2.8)."""
        return self._objects(VM, "one.vmpool.infoextended", int(filter), -1, -1, state)

    # -- hosts -----------------------------------------------------------------------------

    def host_allocate(self, name: str, im_mad: str, vm_mad: str) -> int:
        """Register a host in the default cluster."""
        return int(self.call("one.host.allocate", name, im_mad, vm_mad, -1))

    def host_info(self, host_id: int) -> Host:
        return self._object(Host, "one.host.info", host_id)

    def host_delete(self, host_id: int) -> None:
        self.call("one.host.delete", host_id)

    def host_status(self, host_id: int, status: HostStatus) -> None:
        self.call("one.host.status", host_id, int(status))

    def host_update(self, host_id: int, template_text: str, append: bool = False) -> None:
        """Replace the admin's attributes of a host (its TEMPLATE), or merge ``template_text`` in with ``append``."""
        self.call("one.host.update", host_id, template_text, int(append))

    def host_rename(self, host_id: int, name: str) -> None:
        """Give a host another name; its drivers reach it by the new name from their next call."""
        self.call("one.host.rename", host_id, name)

    def host_monitoring(self, host_id: int) -> TemplateDict:
        """The host's latest probe: TIMESTAMP, ID and CAPACITY (FREE_CPU, USED_MEMORY...); {} before the first."""
        return self._parsed("one.host.monitoring", "MONITORING_DATA", _latest_sample, host_id)

    def host_list_monitoring(self) -> dict[int, TemplateDict]:
        """The latest probe of every host, by host id (empty for users who are not admins)."""
        return self._parsed("one.hostpool.monitoring", "MONITORING_DATA", _samples_by_id, -1)

    def host_list(self) -> list[Host]:
        return self._objects(Host, "one.hostpool.info")

    # -- virtual networks ------------------------------------------------------------------

    def vnet_allocate(self, template_text: str) -> int:
        """Create a virtual network in the default cluster."""
        return int(self.call("one.vn.allocate", template_text, -1))

    def vnet_info(self, vnet_id: int) -> VNet:
        return self._object(VNet, "one.vn.info", vnet_id)

    def vnet_delete(self, vnet_id: int) -> None:
        """Remove a network no VM and no reservation uses; a reservation's addresses go back to its parent."""
        self.call("one.vn.delete", vnet_id)

    def vnet_list(self, filter: int = PoolFilter.ALL) -> list[VNet]:
        """Networks by owner (a PoolFilter or a user id), those the caller may use."""
        return self._objects(VNet, "one.vnpool.info", int(filter), -1, -1)

    def vnet_add_range(self, vnet_id: int, template_text: str) -> None:
        """Add an address range, ``AR = [ TYPE = IP4, IP = 10.0.0.1, SIZE = 100 ]`` (or ETHER, MAC only).

        The new range's AR_ID is the next free one; ``vnet_info(...).ranges`` lists it.
        """
        self.call("one.vn.add_ar", vnet_id, template_text)

    def vnet_remove_range(self, vnet_id: int, ar_id: int, force: bool = False) -> None:
        """Remove an address range that no VM and no reservation uses; addresses on hold go with it only if ``force``."""
        self.call("one.vn.rm_ar", vnet_id, ar_id, force)

    def vnet_update_range(self, vnet_id: int, template_text: str) -> None:
        """Resize an address range, ``AR = [ AR_ID = 0, SIZE = 100 ]``; its first address and type stay."""
        self.call("one.vn.update_ar", vnet_id, template_text)

    def vnet_hold(self, vnet_id: int, address: str) -> None:
        """Keep an address (IPv4 or MAC) out of use until released; ValueError if it is neither."""
        self.call("one.vn.hold", vnet_id, lease_template(address))

    def vnet_release(self, vnet_id: int, address: str) -> None:
        """Give back an address (IPv4 or MAC) put on hold; ValueError if it is neither."""
        self.call("one.vn.release", vnet_id, lease_template(address))

    def vnet_reserve(self, vnet_id: int, name: str, size: int, ar_id: int | None = None) -> int:
        """Carve ``size`` consecutive free addresses (of range ``ar_id``, else of the first that has room) out of
        a network into a new network ``name`` the caller owns; its id. Deleting it gives them back."""
        template = Template([("NAME", name), ("SIZE", str(size))])
        if ar_id is not None:
            template.set("AR_ID", str(ar_id))
        return int(self.call("one.vn.reserve", vnet_id, template.to_text()))

    # -- VM templates ------------------------------------------------------------------------

    def template_allocate(self, template_text: str) -> int:
        """Register a VM template; it needs a NAME."""
        return int(self.call("one.template.allocate", template_text))

    def template_info(self, template_id: int) -> VMTemplate:
        return self._object(VMTemplate, "one.template.info", template_id)

    def template_delete(self, template_id: int) -> None:
        self.call("one.template.delete", template_id, False)

    def template_list(self, filter: int = PoolFilter.ALL) -> list[VMTemplate]:
        """VM templates by owner (a PoolFilter or a user id), those the caller may use, newest first."""
        return self._objects(VMTemplate, "one.templatepool.info", int(filter), -1, -1)

    def template_instantiate(self, template_id: int, name: str = "", hold: bool = False, extra: str = "") -> int:
        """Create a VM from a template; ``extra`` attributes override the template's. The VM's id."""
        return int(self.call("one.template.instantiate", template_id, name, hold, extra, False))

    def template_clone(self, template_id: int, name: str) -> int:
        """Copy a VM template under a new name; the copy is the caller's (permissions 600). Its id."""
        return int(self.call("one.template.clone", template_id, name, False))

    # -- groups ----------------------------------------------------------------------------

    def group_allocate(self, name: str) -> int:
        return int(self.call("one.group.allocate", name))

    def group_info(self, group_id: int) -> Group:
        """One group; -1 is the caller's."""
        return self._object(Group, "one.group.info", group_id)

    def group_delete(self, group_id: int) -> None:
        self.call("one.group.delete", group_id)

    def group_update(self, group_id: int, template_text: str, append: bool = False) -> None:
        """Replace a group's template, or merge ``template_text`` in with ``append`` (admins only)."""
        self.call("one.group.update", group_id, template_text, int(append))

    def group_list(self) -> list[Group]:
        return self._objects(Group, "one.grouppool.info")

    # -- script hooks ------------------------------------------------------------------------

    def hook_allocate(self, template_text: str) -> int:
        """Create a script hook (admins only): NAME, TYPE state|api, COMMAND, ARGUMENTS, RESOURCE/ON or CALL."""
        return int(self.call("one.hook.allocate", template_text))

    def hook_info(self, hook_id: int) -> Hook:
        """One hook with its execution log, oldest run first."""
        return self._object(Hook, "one.hook.info", hook_id)

    def hook_delete(self, hook_id: int) -> None:
        """Remove a hook and its log."""
        self.call("one.hook.delete", hook_id)

    def hook_update(self, hook_id: int, template_text: str, append: bool = False) -> None:
        """Replace a hook's template (a state hook's must give STATE and LCM_STATE), or merge with ``append``."""
        self.call("one.hook.update", hook_id, template_text, int(append))

    def hook_retry(self, hook_id: int, execution_id: int) -> None:
        """Run a recorded execution again with the same arguments (a new record, marked retry)."""
        self.call("one.hook.retry", hook_id, execution_id)

    def hook_list(self) -> list[Hook]:
        """Every hook, without logs (a regular user sees none)."""
        return self._objects(Hook, "one.hookpool.info", int(PoolFilter.ALL), -1, -1)

    def hook_log(self, min_ts: int = -1, max_ts: int = -1, hook_id: int = -1, rc: int = 0) -> list[HookRecord]:
        """Execution records of every hook (or ``hook_id``'s), after ``min_ts`` and before ``max_ts``
        (-1: no bound); ``rc`` -1 failures only, 1 successes only, 0 all."""
        def read(root: ET.Element) -> list[HookRecord]:
            return [HookRecord.from_xml(r) for r in root.iterfind("HOOK_EXECUTION_RECORD")]

        return self._parsed("one.hooklog.info", "HOOKLOG", read, min_ts, max_ts, hook_id, rc)

    # -- users -----------------------------------------------------------------------------

    def user_allocate(self, name: str, password: str, groups: Iterable[int] = (), driver: str = "") -> int:
        """Create a user; its primary group is the first of ``groups``, else ``users``; ``driver`` "" is core."""
        return int(self.call("one.user.allocate", name, password, driver, list(groups)))

    def user_info(self, user_id: int) -> User:
        """One user; -1 is the caller."""
        return self._object(User, "one.user.info", user_id)

    def user_delete(self, user_id: int) -> None:
        self.call("one.user.delete", user_id)

    def user_passwd(self, user_id: int, password: str) -> None:
        self.call("one.user.passwd", user_id, password)

    def user_chgrp(self, user_id: int, group_id: int) -> None:
        """Change a user's primary group (its new objects go there); it leaves the old primary group.

        Admins may choose any group; a user may move itself into one of the groups it belongs to.
        """
        self.call("one.user.chgrp", user_id, group_id)

    def user_addgroup(self, user_id: int, group_id: int) -> None:
        """Add a secondary group to a user (admins only)."""
        self.call("one.user.addgroup", user_id, group_id)

    def user_delgroup(self, user_id: int, group_id: int) -> None:
        """Remove a secondary group from a user (admins only; never the primary group)."""
        self.call("one.user.delgroup", user_id, group_id)

    def user_update(self, user_id: int, template_text: str, append: bool = False) -> None:
        """Replace a user's template (SSH_PUBLIC_KEY and the like), or merge ``template_text`` in with ``append``."""
        self.call("one.user.update", user_id, template_text, int(append))

    def user_enable(self, user_id: int, enable: bool = True) -> None:
        """Let a user log in again, or (``enable`` False) stop it: its sessions end at once (admins only)."""
        self.call("one.user.enable", user_id, enable)

    def user_chauth(self, user_id: int, driver: str, password: str = "") -> None:
        """Move a user to another auth driver, with a new password for it ("" keeps the stored one)."""
        self.call("one.user.chauth", user_id, driver, password)

    def user_login(self, username: str, token: str = "", valid: int = DEFAULT_TOKEN_SECONDS, egid: int = -1) -> str:
        """Make a login token for ``username`` (the caller itself, or anyone for admins) and return it.

        ``username:<token>`` then works as a session for ``valid`` seconds (-1: until revoked).
        ``token`` "" lets the server choose a random one; ``egid`` restricts the token to one of
        the user's groups (-1: all of them). ``valid`` 0 revokes ``token`` instead (all the
        user's tokens when it is "").
        """
        return str(self.call("one.user.login", username, token, valid, egid))

    def user_list(self) -> list[User]:
        return self._objects(User, "one.userpool.info")

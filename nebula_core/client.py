"""Nebula's OCA: a small typed client of the XML-RPC API (OpenNebula 7.4 wire format).

The CLI and scripts talk to the daemon through this module only, so that they see what any
OpenNebula client sees. Replies are parsed into plain dataclasses; templates become
dicts the way pyone shows them (text, a dict per vector, a list when a name repeats).

A Client keeps one HTTP connection open between calls; it is not thread-safe (one per thread).
"""

from __future__ import annotations

import abc
import dataclasses
import enum
import http.client
import os
import xml.etree.ElementTree as ET
import xmlrpc.client
from collections.abc import Iterable
from pathlib import Path
from typing import Any, ClassVar, Self, TypeVar
from urllib.parse import urlsplit
from xml.parsers.expat import ExpatError

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


class _OneObject(abc.ABC):
    """An object of the API, read from its XML element (``TAG``, in an info reply or a pool)."""

    TAG: ClassVar[str]

    @classmethod
    @abc.abstractmethod
    def from_xml(cls, element: ET.Element) -> Self:
        """The object an element describes; ValueError if a number in it is not one."""


T = TypeVar("T", bound=_OneObject)


@dataclasses.dataclass
class VM(_OneObject):
    """A virtual machine; ``state_name`` is the LCM name while ACTIVE (e.g. RUNNING), else the VM state's."""

    TAG: ClassVar[str] = "VM"

    id: int
    name: str
    uid: int
    uname: str
    gname: str
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
            id=_int(element, "ID"), name=_text(element, "NAME"), uid=_int(element, "UID"),
            uname=_text(element, "UNAME"), gname=_text(element, "GNAME"), state=state, lcm_state=lcm_state,
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
class VNet(_OneObject):
    """A virtual network; ``size`` counts the addresses of all its ranges, ``leases`` those in use.

    ``leases`` is empty in pool replies (OpenNebula lists them only in ``one.vn.info``).
    """

    TAG: ClassVar[str] = "VNET"

    id: int
    name: str
    uname: str
    state: int
    state_name: str
    bridge: str
    vn_mad: str
    used_leases: int
    size: int
    leases: list[dict[str, str]]  # IP, MAC, VM ... plus the AR_ID of its range
    template: TemplateDict

    @classmethod
    def from_xml(cls, element: ET.Element) -> Self:
        state = _int(element, "STATE")
        ranges = element.findall("AR_POOL/AR")
        return cls(
            id=_int(element, "ID"), name=_text(element, "NAME"), uname=_text(element, "UNAME"), state=state,
            state_name=enum_name(VNetState, state), bridge=_text(element, "BRIDGE"), vn_mad=_text(element, "VN_MAD"),
            used_leases=_int(element, "USED_LEASES"), size=sum(_int(ar, "SIZE") for ar in ranges),
            leases=[{"AR_ID": _text(ar, "AR_ID"), **_record(lease)} for ar in ranges
                    for lease in ar.iterfind("LEASES/LEASE")],
            template=_template(element.find("TEMPLATE")),
        )


@dataclasses.dataclass
class User(_OneObject):
    """A user account and its primary group."""

    TAG: ClassVar[str] = "USER"

    id: int
    name: str
    gid: int
    gname: str
    auth_driver: str
    enabled: bool

    @classmethod
    def from_xml(cls, element: ET.Element) -> Self:
        return cls(
            id=_int(element, "ID"), name=_text(element, "NAME"), gid=_int(element, "GID"),
            gname=_text(element, "GNAME"), auth_driver=_text(element, "AUTH_DRIVER"),
            enabled=_text(element, "ENABLED").lower() in ("1", "true"),  # 1.4 wrote True/Fase
        )


@dataclasses.dataclass
class VMTemplate(_OneObject):
    """A VM template that users instantiate."""

    TAG: ClassVar[str] = "VMTEMPLATE"

    id: int
    name: str
    uname: str
    regtime: int
    template: TemplateDict

    @classmethod
    def from_xml(cls, element: ET.Element) -> Self:
        return cls(
            id=_int(element, "ID"), name=_text(element, "NAME"), uname=_text(element, "UNAME"),
            regtime=_int(element, "REGTIME"), template=_template(element.find("TEMPLATE")),
        )


@dataclasses.dataclass
class Group(_OneObject):
    """A group of users."""

    TAG: ClassVar[str] = "GROUP"

    id: int
    name: str
    users: list[int]

    @classmethod
    def from_xml(cls, element: ET.Element) -> Self:
        return cls(id=_int(element, "ID"), name=_text(element, "NAME"),
                   users=[int(text) for text in (e.text for e in element.iterfind("USERS/ID")) if text])


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

    def _objects(self, kind: type[T], method: str, *args: Any) -> list[T]:
        """Every ``kind`` in the XML reply of ``method``: the pool's members, or the one object itself."""
        value = self.call(method, *args)
        try:
            root = ET.fromstring(value)
            found = [root] if root.tag == kind.TAG else root.findall(kind.TAG)
            return [kind.from_xml(element) for element in found]
        except (ET.ParseError, TypeError, ValueError) as exc:
            raise OneError(f"{method}: malformed {kind.TAG} document: {exc}") from None

    def _object(self, kind: type[T], method: str, object_id: int) -> T:
        found = self._objects(kind, method, object_id)
        if len(found) != 1:
            raise OneError(f"{method}: the reply holds no {kind.TAG}")
        return found[0]

    def version(self) -> str:
        """The server's OpenNebula version, e.g. ``7.4.0``."""
        return str(self.call("one.system.version"))

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

    def vm_list(self, filter: int = -2, state: int = -1) -> list[VM]:
        """VMs in the full form; ``filter`` -2 all I may see, ``state`` -1 all but DONE, -2 all (OPENNEBULA.md 2.8)."""
        return self._objects(VM, "one.vmpool.infoextended", filter, -1, -1, state)

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

    def host_list(self) -> list[Host]:
        return self._objects(Host, "one.hostpool.info")

    # -- virtual networks ------------------------------------------------------------------

    def vnet_allocate(self, template_text: str) -> int:
        """Create a virtual network in the default cluster."""
        return int(self.call("one.vn.allocate", template_text, -1))

    def vnet_info(self, vnet_id: int) -> VNet:
        return self._object(VNet, "one.vn.info", vnet_id)

    def vnet_delete(self, vnet_id: int) -> None:
        self.call("one.vn.delete", vnet_id)

    def vnet_list(self) -> list[VNet]:
        return self._objects(VNet, "one.vnpool.info", -2, -1, -1)

    # -- VM templates ------------------------------------------------------------------------

    def template_allocate(self, template_text: str) -> int:
        """Register a VM template; it needs a NAME."""
        return int(self.call("one.template.allocate", template_text))

    def template_info(self, template_id: int) -> VMTemplate:
        return self._object(VMTemplate, "one.template.info", template_id)

    def template_delete(self, template_id: int) -> None:
        self.call("one.template.delete", template_id, False)

    def template_list(self) -> list[VMTemplate]:
        return self._objects(VMTemplate, "one.templatepool.info", -2, -1, -1)

    def template_instantiate(self, template_id: int, name: str = "", hold: bool = False, extra: str = "") -> int:
        """Create a VM from a template; ``extra`` attributes override the template's. The VM's id."""
        return int(self.call("one.template.instantiate", template_id, name, hold, extra, False))

    # -- groups ----------------------------------------------------------------------------

    def group_allocate(self, name: str) -> int:
        return int(self.call("one.group.allocate", name))

    def group_info(self, group_id: int) -> Group:
        """One group; -1 is the caller's."""
        return self._object(Group, "one.group.info", group_id)

    def group_delete(self, group_id: int) -> None:
        self.call("one.group.delete", group_id)

    def group_list(self) -> list[Group]:
        return self._objects(Group, "one.grouppool.info")

    # -- users -----------------------------------------------------------------------------

    def user_allocate(self, name: str, password: str, groups: Iterable[int] = ()) -> int:
        """Create a core user; its primary group is the first of ``groups``, else ``users``."""
        return int(self.call("one.user.allocate", name, password, "", list(groups)))

    def user_info(self, user_id: int) -> User:
        """One user; -1 is the caller."""
        return self._object(User, "one.user.info", user_id)

    def user_delete(self, user_id: int) -> None:
        self.call("one.user.delete", user_id)

    def user_passwd(self, user_id: int, password: str) -> None:
        self.call("one.user.passwd", user_id, password)

    def user_list(self) -> list[User]:
        return self._objects(User, "one.userpool.info")

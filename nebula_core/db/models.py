"""The database schema: typed ORM models, one per object the core keeps.

Each object keeps its template (the user's attributes, as JSON of ``Template``) beside typed
columns for what the core queries on. Host capacity in use is never stored: it is the sum over
the VMs whose ``host_id`` points at the host, so it cannot drift or be released twice.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Float, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.dialects.mysql import MEDIUMTEXT
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

NAME = String(255)
# Templates and reports: MariaDB's TEXT stops at 64 KiB, MEDIUMTEXT at 16 MiB (what oned uses for bodies).
BODY = Text().with_variant(MEDIUMTEXT(), "mysql", "mariadb")
DEFAULT_PERMISSIONS = 0o600  # OpenNebula's DEFAULT_UMASK 177: owner use + manage


class Base(DeclarativeBase):
    pass


class Owned:
    """Columns of every object users own: owner, group, permission bits and lock."""

    uid: Mapped[int] = mapped_column(ForeignKey("users.id"))
    gid: Mapped[int] = mapped_column(Integer)
    permissions: Mapped[int] = mapped_column(Integer, default=DEFAULT_PERMISSIONS)  # octal digits owner/group/other
    lock_level: Mapped[int] = mapped_column(Integer, default=0, server_default="0")  # 0 unlocked, else 1 use .. 3 admin
    lock_time: Mapped[int] = mapped_column(Integer, default=0, server_default="0")


class Group(Base):
    __tablename__ = "groups"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    name: Mapped[str] = mapped_column(NAME, unique=True)
    template: Mapped[str] = mapped_column(BODY, default="[]")


class User(Base):
    __tablename__ = "users"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    name: Mapped[str] = mapped_column(NAME, unique=True)
    password: Mapped[str] = mapped_column(String(512))  # "<scheme>$<params>$<salt>$<hash>"
    gid: Mapped[int] = mapped_column(ForeignKey("groups.id"))
    auth_driver: Mapped[str] = mapped_column(String(64), default="core")
    enabled: Mapped[bool] = mapped_column(default=True)
    template: Mapped[str] = mapped_column(BODY, default="[]")


class Membership(Base):
    """A user's place in a group: the primary group (``User.gid``) and any secondary ones."""

    __tablename__ = "memberships"
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    group_id: Mapped[int] = mapped_column(ForeignKey("groups.id"), primary_key=True, index=True)


class LoginToken(Base):
    """A login token (``one.user.login``); only its SHA-256 is kept, as for a password."""

    __tablename__ = "login_tokens"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    digest: Mapped[str] = mapped_column(String(64), unique=True)
    expires: Mapped[int] = mapped_column(BigInteger)  # epoch seconds; -1 never
    egid: Mapped[int] = mapped_column(Integer, default=-1)  # -1: every group of the user


class Host(Base):
    __tablename__ = "hosts"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    name: Mapped[str] = mapped_column(NAME, unique=True)
    im_mad: Mapped[str] = mapped_column(String(64))
    vm_mad: Mapped[str] = mapped_column(String(64))
    tm_mad: Mapped[str] = mapped_column(String(64), default="dummy")
    state: Mapped[int] = mapped_column(Integer, default=0)
    prev_state: Mapped[int] = mapped_column(Integer, default=0)
    cluster_id: Mapped[int] = mapped_column(Integer, default=0)
    total_cpu: Mapped[int] = mapped_column(Integer, default=0)  # cores x 100, from monitoring
    total_mem: Mapped[int] = mapped_column(Integer, default=0)  # KB, from monitoring
    last_mon_time: Mapped[int] = mapped_column(Integer, default=0)
    template: Mapped[str] = mapped_column(BODY, default="[]")
    monitoring: Mapped[str] = mapped_column(BODY, default="{}")  # last probe's key -> value


class VirtualMachine(Owned, Base):
    __tablename__ = "vms"
    __table_args__ = (Index("ix_vms_state", "state", "lcm_state"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    name: Mapped[str] = mapped_column(NAME)
    state: Mapped[int] = mapped_column(Integer)
    lcm_state: Mapped[int] = mapped_column(Integer, default=0)
    prev_state: Mapped[int] = mapped_column(Integer, default=0)
    prev_lcm_state: Mapped[int] = mapped_column(Integer, default=0)
    resched: Mapped[int] = mapped_column(Integer, default=0)
    stime: Mapped[int] = mapped_column(Integer)
    etime: Mapped[int] = mapped_column(Integer, default=0)
    deploy_id: Mapped[str] = mapped_column(String(255), default="")
    # The host whose capacity this VM holds; NULL while it holds none.
    host_id: Mapped[int | None] = mapped_column(ForeignKey("hosts.id"), index=True, default=None)
    seq: Mapped[int] = mapped_column(Integer, default=-1)  # the current History.seq; -1 before any placement
    cpu: Mapped[float] = mapped_column(Float)
    vcpu: Mapped[int] = mapped_column(Integer, default=1)
    memory: Mapped[int] = mapped_column(Integer)  # MB
    template: Mapped[str] = mapped_column(BODY)
    user_template: Mapped[str] = mapped_column(BODY, default="[]")
    last_poll: Mapped[int] = mapped_column(Integer, default=0)
    monitoring: Mapped[str] = mapped_column(BODY, default="{}")
    # The driver step in flight: bumped whenever a step is issued, so a late result is ignored.
    step: Mapped[int] = mapped_column(Integer, default=0)
    hard: Mapped[bool] = mapped_column(default=False)  # the step in flight is the hard variant


class History(Base):
    """One placement of a VM on a host, from arrival to departure."""

    __tablename__ = "history"
    __table_args__ = (UniqueConstraint("vm_id", "seq"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    vm_id: Mapped[int] = mapped_column(ForeignKey("vms.id", ondelete="CASCADE"), index=True)
    seq: Mapped[int] = mapped_column(Integer)
    host_id: Mapped[int] = mapped_column(Integer)
    hostname: Mapped[str] = mapped_column(NAME)
    vm_mad: Mapped[str] = mapped_column(String(64))
    tm_mad: Mapped[str] = mapped_column(String(64))
    stime: Mapped[int] = mapped_column(Integer)
    etime: Mapped[int] = mapped_column(Integer, default=0)
    pstime: Mapped[int] = mapped_column(Integer, default=0)
    petime: Mapped[int] = mapped_column(Integer, default=0)
    rstime: Mapped[int] = mapped_column(Integer, default=0)
    retime: Mapped[int] = mapped_column(Integer, default=0)
    estime: Mapped[int] = mapped_column(Integer, default=0)
    eetime: Mapped[int] = mapped_column(Integer, default=0)
    action: Mapped[int] = mapped_column(Integer, default=0)  # HistoryAction that ended it
    reason: Mapped[str] = mapped_column(BODY, default="")


class VirtualNetwork(Owned, Base):
    __tablename__ = "vnets"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    name: Mapped[str] = mapped_column(NAME, unique=True)
    state: Mapped[int] = mapped_column(Integer, default=1)
    bridge: Mapped[str] = mapped_column(String(255), default="")
    vn_mad: Mapped[str] = mapped_column(String(64), default="dummy")
    parent_id: Mapped[int | None] = mapped_column(Integer, default=None)  # a reservation's network
    template: Mapped[str] = mapped_column(BODY, default="[]")


class AddressRange(Base):
    """A run of consecutive addresses; lease ``index`` i is ip_start + i and mac_start + i."""

    __tablename__ = "address_ranges"
    __table_args__ = (UniqueConstraint("vnet_id", "ar_id"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    vnet_id: Mapped[int] = mapped_column(ForeignKey("vnets.id", ondelete="CASCADE"))
    ar_id: Mapped[int] = mapped_column(Integer)
    type: Mapped[str] = mapped_column(String(16))  # IP4 or ETHER
    ip_start: Mapped[int | None] = mapped_column(BigInteger, default=None)
    mac_start: Mapped[int] = mapped_column(BigInteger)
    size: Mapped[int] = mapped_column(Integer)
    next_index: Mapped[int] = mapped_column(Integer, default=0)


class Lease(Base):
    """An address in use; the unique key makes a double lease impossible under concurrency."""

    __tablename__ = "leases"
    __table_args__ = (UniqueConstraint("vnet_id", "ar_id", "idx"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    vnet_id: Mapped[int] = mapped_column(ForeignKey("vnets.id", ondelete="CASCADE"))
    ar_id: Mapped[int] = mapped_column(Integer)
    idx: Mapped[int] = mapped_column(Integer)
    vm_id: Mapped[int | None] = mapped_column(Integer, index=True, default=None)  # None: on hold or reserved
    # The reservation (a vnet carved out of this one by one.vn.reserve) holding the address.
    reservation_id: Mapped[int | None] = mapped_column(Integer, index=True, default=None)


class Image(Owned, Base):
    """A disk image; the storage subsystem fills this in."""

    __tablename__ = "images"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    name: Mapped[str] = mapped_column(NAME)
    state: Mapped[int] = mapped_column(Integer, default=0)
    type: Mapped[int] = mapped_column(Integer, default=0)
    template: Mapped[str] = mapped_column(BODY, default="[]")


class VMTemplate(Owned, Base):
    """A VM template users instantiate (``onetemplate``)."""

    __tablename__ = "vm_templates"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    name: Mapped[str] = mapped_column(NAME)
    regtime: Mapped[int] = mapped_column(Integer)
    template: Mapped[str] = mapped_column(BODY, default="[]")


class Sequence(Base):
    """The next id per object kind: ids are never reused, as in OpenNebula."""

    __tablename__ = "sequences"
    kind: Mapped[str] = mapped_column(String(32), primary_key=True)
    next_id: Mapped[int] = mapped_column(Integer)


class HookEvent(Base):
    """A committed change waiting for its hooks (an outbox): written in the change's transaction,
    deleted once its hooks ran, so a daemon killed in between delivers it after restart."""

    __tablename__ = "hook_events"
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer(), "sqlite"), primary_key=True)  # SQLite: the rowid
    kind: Mapped[str] = mapped_column(String(64))
    payload: Mapped[str] = mapped_column(BODY)
    created: Mapped[int] = mapped_column(Integer)


class Hook(Base):
    """A script hook (``one.hook.*``): run COMMAND when an object enters a state (``state``) or
    after an API call (``api``); TEMPLATE holds RESOURCE/STATE/LCM_STATE or CALL, COMMAND, ARGUMENTS ..."""

    __tablename__ = "hooks"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    name: Mapped[str] = mapped_column(NAME)
    type: Mapped[str] = mapped_column(String(16))  # state or api
    template: Mapped[str] = mapped_column(BODY, default="[]")
    lock_level: Mapped[int] = mapped_column(Integer, default=0)
    lock_time: Mapped[int] = mapped_column(Integer, default=0)


class HookExecution(Base):
    """One run of a script hook: what ran, what it printed (base64, as oned keeps it), its exit code."""

    __tablename__ = "hook_executions"
    __table_args__ = (UniqueConstraint("hook_id", "execution_id"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    hook_id: Mapped[int] = mapped_column(ForeignKey("hooks.id", ondelete="CASCADE"), index=True)
    execution_id: Mapped[int] = mapped_column(Integer)  # counts from 0 per hook
    timestamp: Mapped[int] = mapped_column(Integer, index=True)
    arguments: Mapped[str] = mapped_column(BODY)  # after substitution, as one line (what oned shows)
    argv: Mapped[str] = mapped_column(BODY, default="[]")  # the same as a JSON list, for a faithful retry
    command: Mapped[str] = mapped_column(BODY)
    stdout: Mapped[str] = mapped_column(BODY, default="")
    stderr: Mapped[str] = mapped_column(BODY, default="")
    code: Mapped[int] = mapped_column(Integer)  # the exit status; -1 when it could not run or timed out
    remote_host: Mapped[str] = mapped_column(String(255), default="")
    retry: Mapped[bool] = mapped_column(default=False)

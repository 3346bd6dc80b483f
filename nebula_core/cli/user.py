"""``nebula user`` (``oneuser``): accounts, their groups, passwords and login tokens."""

from __future__ import annotations

import argparse
import time

from ..client import DEFAULT_TOKEN_SECONDS, Client, ClientError, LoginToken, User
from . import render
from .common import Commands, Output, blocks, created, done, each
from .render import Column

TOKEN_PREFIX = 12  # characters of a token's digest that show (enough to tell tokens apart)


def _enabled(user: User) -> str:
    return "yes" if user.enabled else "no"


def _expires(token: LoginToken) -> str:
    if token.expiration == -1:
        return "never"
    return render.timestamp(token.expiration) + (" (expired)" if token.expiration <= time.time() else "")


USER_COLUMNS: list[Column[User]] = [
    ("id", lambda user: user.id),
    ("name", lambda user: user.name),
    ("group", lambda user: user.gname),
    ("auth", lambda user: user.auth_driver),
    ("enabled", _enabled),
]
TOKEN_COLUMNS: list[Column[LoginToken]] = [
    ("token", lambda token: token.token[:TOKEN_PREFIX]),
    ("egid", lambda token: "all" if token.egid == -1 else token.egid),
    ("expires", _expires),
]


def user_create(client: Client, args: argparse.Namespace) -> Output:
    return created(client.user_allocate(args.name, args.password, args.groups, driver=args.driver))


def user_list(client: Client, args: argparse.Namespace) -> Output:
    users = client.user_list()
    return Output(users, render.table(USER_COLUMNS, users))


def user_show(client: Client, args: argparse.Namespace) -> Output:
    user = client.user_info(args.id)
    info = render.fields(f"USER {user.id} INFORMATION", [
        ("ID", user.id), ("NAME", user.name), ("GROUP", user.gname),
        ("GROUPS", ",".join(map(str, user.groups)) or "-"), ("AUTH_DRIVER", user.auth_driver),
        ("ENABLED", _enabled(user)),
    ])
    return Output(user, blocks(
        info, render.section("USER TEMPLATE", render.template_text(user.template)),
        render.section("LOGIN TOKENS (SHA-256 DIGEST)", render.table(TOKEN_COLUMNS, user.tokens) if user.tokens else ""),
    ))


def user_delete(client: Client, args: argparse.Namespace) -> Output:
    return each("user", args.ids, client.user_delete)


def user_passwd(client: Client, args: argparse.Namespace) -> Output:
    client.user_passwd(args.id, args.password)
    return done(args.id)


def user_group(client: Client, args: argparse.Namespace) -> Output:
    """chgrp, addgroup, delgroup: ``args.change`` is the client method."""
    args.change(client, args.id, args.gid)
    return done(args.id)


def user_enable(client: Client, args: argparse.Namespace) -> Output:
    return each("user", args.ids, lambda user_id: client.user_enable(user_id, args.enable))


def user_chauth(client: Client, args: argparse.Namespace) -> Output:
    client.user_chauth(args.id, args.driver, args.password)
    return done(args.id)


def user_token_create(client: Client, args: argparse.Namespace) -> Output:
    if args.time == 0 or args.time < -1:  # 0 would revoke every token of the user instead
        raise ClientError(f"--time must be a number of seconds above 0, or -1 for no expiry, not {args.time}")
    token = client.user_login(args.name or client.username, valid=args.time, egid=args.group)
    return Output({"token": token}, token)


def user_token_delete(client: Client, args: argparse.Namespace) -> Output:
    client.user_login(args.name, args.token, valid=0)
    return Output({"name": args.name})


def register(user: Commands) -> None:
    create = user.add("create", user_create, "create a user (core authentication, group users unless --group)")
    create.add_argument("name", metavar="NAME")
    create.add_argument("password", metavar="PASSWORD")
    create.add_argument("--driver", default="", metavar="AUTH_DRIVER", help="an installed auth driver (default: core)")
    create.add_argument("--group", dest="groups", metavar="GID", type=int, action="append", default=[],
                        help="a group of the user (repeat for more; the first is primary)")
    user.add("list", user_list, "list users")
    user.add_id("show", user_show, "show a user, its groups and login tokens (-1: yourself)")
    user.add_ids("delete", user_delete, "delete users", "user")
    user.add_id("passwd", user_passwd, "change a user's password").add_argument("password", metavar="PASSWORD")
    for name, change, summary in (
            ("chgrp", Client.user_chgrp, "change a user's primary group (it leaves the old one)"),
            ("addgroup", Client.user_addgroup, "add a secondary group to a user"),
            ("delgroup", Client.user_delgroup, "remove a secondary group from a user")):
        command = user.add_id(name, user_group, summary)
        command.add_argument("gid", metavar="GID", type=int)
        command.set_defaults(change=change)
    user.add_update(Client.user_update, "user's template")
    user.add_ids("enable", user_enable, "let users log in again", "user").set_defaults(enable=True)
    user.add_ids("disable", user_enable, "stop users from logging in (their sessions end at once)", "user").set_defaults(
        enable=False)
    chauth = user.add_id("chauth", user_chauth, "move a user to another auth driver")
    chauth.add_argument("driver", metavar="DRIVER", help="an installed auth driver, e.g. core")
    chauth.add_argument("password", metavar="PASSWORD", nargs="?", default="", help="a new password (default: kept)")
    token = user.add("token-create", user_token_create, "make a login token and print it; USER:TOKEN then logs in")
    token.add_argument("name", metavar="NAME", nargs="?", help="the user (default: yourself)")
    token.add_argument("--time", type=int, default=DEFAULT_TOKEN_SECONDS, metavar="SECONDS",
                       help=f"valid for SECONDS ({DEFAULT_TOKEN_SECONDS}; -1: until deleted)")
    token.add_argument("--group", type=int, default=-1, metavar="GID", help="act in this group only")
    revoke = user.add("token-delete", user_token_delete, "revoke a login token")
    revoke.add_argument("name", metavar="NAME", help="the user")
    revoke.add_argument("token", metavar="TOKEN", help="the token itself (as token-create printed it)")

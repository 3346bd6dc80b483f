"""Errors the API reports, each carrying OpenNebula's error code.

Raised anywhere in the core; the API turns them into ``[false, message, code, id, -1]``.
"""

from __future__ import annotations

import enum


class ErrorCode(enum.IntEnum):
    AUTHENTICATION = 0x100
    AUTHORIZATION = 0x200
    NO_EXISTS = 0x400
    ACTION = 0x800
    RPC_API = 0x1000
    INTERNAL = 0x2000
    ALLOCATE = 0x4000
    LOCKED = 0x8000


class NebulaError(Exception):
    """A refusal with a message the user sees and the OpenNebula code clients map to exceptions."""

    code: ErrorCode = ErrorCode.INTERNAL

    def __init__(self, message: str, resource_id: int = -1) -> None:
        super().__init__(message)
        self.message = message
        self.resource_id = resource_id


class AuthenticationError(NebulaError):
    code = ErrorCode.AUTHENTICATION


class AuthorizationError(NebulaError):
    code = ErrorCode.AUTHORIZATION


class NoExistsError(NebulaError):
    code = ErrorCode.NO_EXISTS


class ActionError(NebulaError):
    code = ErrorCode.ACTION


class ApiError(NebulaError):
    code = ErrorCode.RPC_API


class InternalError(NebulaError):
    code = ErrorCode.INTERNAL


class AllocateError(NebulaError):
    code = ErrorCode.ALLOCATE


class LockedError(NebulaError):
    code = ErrorCode.LOCKED

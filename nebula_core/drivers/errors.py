"""The one hierarchy drivers raise from; anything else a driver raises counts as DriverError."""


class DriverError(Exception):
    """The operation failed; the message is shown to the user as the reason."""


class HostUnreachable(DriverError):
    """The host did not answer (network, daemon down, refused credentials)."""


class VMNotFound(DriverError):
    """The hypervisor does not know the VM."""


class NotSupported(DriverError):
    """The driver does not do this; undeclared capabilities are refused before the call."""


class DriverTimeout(DriverError):
    """The call did not return within its deadline (raised by the core, not by drivers)."""

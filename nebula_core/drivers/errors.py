"""The one hierarchy drivers raise from; anything else a driver raises counts as DriverError."""


class DriverError(Exception):
    """The operation failed; the message is shown to the user as the reason."""


class HostUnreachable(DriverError):
    """The host did not answer (network, daemon down, refused credentials)."""


class VMNotFound(DriverError):
    """The hypervisor does not know the VM.

    Only where a method's contract says so (save, migrate, reboot of a VM that is not there):
    poll() reports such a VM DELETED, and shutdown() and cancel() of it succeed.
    """


class NotSupported(DriverError):
    """The driver does not do this; undeclared capabilities are refused before the call."""


class DriverTimeout(DriverError):
    """The call did not return within its deadline (raised by the core, not by drivers)."""

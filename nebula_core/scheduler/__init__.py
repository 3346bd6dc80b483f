"""The scheduler: places PENDING VMs on hosts (match-making in ``placement``, the loop in ``loop``)."""

from .loop import Scheduler

__all__ = ["Scheduler"]

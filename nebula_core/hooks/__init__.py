"""Hooks: plugins that react to every event of the cloud (see specs.py for the events)."""

import pluggy

from .specs import PROJECT, HookRefusal

hookimpl = pluggy.HookimplMarker(PROJECT)

__all__ = ["HookRefusal", "hookimpl"]

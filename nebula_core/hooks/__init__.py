"""Hooks: plugins that react to every event of the cloud (see specs.py for the events)."""

import pluggy

from .specs import PROJECT

hookimpl = pluggy.HookimplMarker(PROJECT)

__all__ = ["hookimpl"]

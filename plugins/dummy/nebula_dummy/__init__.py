"""OpenNebula's dummy drivers for Nebula: a simulated hypervisor for tests and scale runs.

``vmm`` keeps its VMs as small JSON files under ``var_dir/dummy/<host>/`` so they outlive the
daemon, ``im`` reports hosts of any size from their templates, ``tm`` moves nothing. Failures,
hangs and delays are injected from templates (``DUMMY_FAIL``, ``DUMMY_HANG``, ``DUMMY_DELAY``),
so the core's error paths can be driven without a real hypervisor.
"""

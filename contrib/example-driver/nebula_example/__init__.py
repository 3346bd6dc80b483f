"""A minimal third-party driver plugin for Nebula: the tutorial to copy when writing your own.

Guests are files under ``var_dir/example/<host>/``: ``vmm`` boots and stops them, ``im`` reports
the front-end's capacity and the guests' usage, ``tm`` has no disks to move. Installing the
distribution registers all three under the name ``example`` (see ``pyproject.toml``).
"""

"""``python -m nebula_core [--config FILE]``: run the daemon (the same as ``nebula serve``)."""

import argparse
import sys

from .daemon import serve

parser = argparse.ArgumentParser(prog="python -m nebula_core", description="Run the Nebula daemon.")
parser.add_argument("--config", help="TOML configuration file (default: $NEBULA_CONFIG, else built-in defaults)")
sys.exit(serve(parser.parse_args().config))

"""The updater as wardcam-update.service runs it (as root): ``python -m appliance.update run``."""

from __future__ import annotations

import argparse
import sys

from appliance.logs import setup_logging
from appliance.settings import Settings
from appliance.update.config import UpdateConfig
from appliance.update.runner import Runner, Systemd


def main(argv: list[str] | None = None) -> int:
    """Handle the appliance's waiting update request, or watch a switched version until it is confirmed."""
    parser = argparse.ArgumentParser(prog="python -m appliance.update", description=main.__doc__)
    parser.add_argument("verb", choices=["run"])
    parser.parse_args(argv)
    setup_logging("INFO")
    config = UpdateConfig()
    Runner(config, Settings.model_validate({}), Systemd(config.service)).run()
    return 0  # a refused or failed update is an outcome, recorded for the audit log: not a failed unit


if __name__ == "__main__":
    sys.exit(main())

"""Print the panel's route table as JSON: run in its own process, so that mounting starts clean.

python -m tests.harness.routes  ->  [[method, path template, declared access or null], ...]
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path

from nicegui import app

from appliance.app import Appliance
from appliance.settings import Settings
from web.access import FRAMEWORK_PREFIX, ROUTES, iter_routes
from web.app import mount


def main() -> None:
    """Mount the panel on a throw-away appliance and print every non-framework route."""
    with tempfile.TemporaryDirectory() as data_dir:
        mount(Appliance(Settings(data_dir=Path(data_dir))))
        table = set()
        for path, methods, _ in iter_routes(app):
            if path.startswith(FRAMEWORK_PREFIX):
                continue
            for method in sorted(methods - {"HEAD"}) or ["GET"]:
                access = ROUTES.get(path)
                table.add((method, path, None if access is None else str(access)))
    json.dump(sorted(table, key=lambda row: (row[1], row[0])), sys.stdout)


if __name__ == "__main__":
    main()

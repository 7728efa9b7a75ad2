"""Run the WardCam command line: ``python -m appliance``."""

from appliance.cli import main

raise SystemExit(main())

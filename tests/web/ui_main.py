"""The panel as NiceGUI's `user` fixture runs it: a fresh appliance in WARDCAM_DATA_DIR."""

import os
from pathlib import Path

from nicegui import ui

from appliance.app import Appliance
from appliance.settings import Settings
from web.app import mount, ui_options

appliance = Appliance(Settings(data_dir=Path(os.environ["WARDCAM_DATA_DIR"]), database_url=None))
mount(appliance)
ui.run(**ui_options(appliance))

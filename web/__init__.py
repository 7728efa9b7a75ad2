"""The NiceGUI web panel: pages, components and the REST API."""

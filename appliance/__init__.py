"""WardCam: a self-hosted CCTV appliance for city wards."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("wardcam")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0.0.0+source"

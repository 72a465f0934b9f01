"""dmsload: a load generator for the Ed-Fi Data Management Service."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("dmsload")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0+unknown"

__all__ = ["__version__"]

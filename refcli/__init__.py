"""refcli: find people in photo and video archives by description."""

__version__ = "0.1.0"

__all__ = ["__version__"]

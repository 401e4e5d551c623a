"""The single source of kerasx's version."""

__version__ = "0.1.0"

"""Khok Nong Na field data server: an ODK-compatible (OpenRosa 1.0) server on PostGIS."""

__version__ = "0.1.0"

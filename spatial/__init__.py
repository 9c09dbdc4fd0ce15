"""Khok Nong Na spatial rules: pure functions on shapely geometries, and the PostGIS queries they need."""

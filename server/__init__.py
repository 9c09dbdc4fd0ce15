"""HTTP: the Flask app (OpenRosa routes, auth) and the command line."""

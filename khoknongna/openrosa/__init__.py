"""OpenRosa and XForm semantics without I/O: XML hardening, XForm and instance reading, XLSForm conversion."""

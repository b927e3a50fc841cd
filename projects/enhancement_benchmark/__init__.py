"""The enhancement benchmark study (see README.md); not part of the mmlesion package."""

"""crimedetect: find crimes that police incident logs disclose but crime records miss."""

__version__ = "0.1.0"

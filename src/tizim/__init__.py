"""tizim — the national IMEI registry: white, grey and black lists of mobile equipment."""

__version__ = "0.1.0"

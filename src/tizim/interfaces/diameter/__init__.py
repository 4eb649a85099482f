"""Diameter S13 (3GPP TS 29.272): the equipment identity check operators' MMEs call."""

from tizim.interfaces.diameter.codec import DiameterDecodeError
from tizim.interfaces.diameter.server import (
    EquipmentStatusSource,
    S13ServerThread,
    start_s13_server,
)

__all__ = ["DiameterDecodeError", "EquipmentStatusSource", "S13ServerThread", "start_s13_server"]

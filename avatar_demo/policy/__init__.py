"""Public mode: who a visitor is, what they may spend of the owner's key, and how much they may upload."""

from .house import HousePolicy, Permit
from .ledger import Ledger, Reservation
from .uploads import UploadLimiter
from .visitor import Visitor, client_address, identify

__all__ = ["HousePolicy", "Ledger", "Permit", "Reservation", "UploadLimiter", "Visitor", "client_address", "identify"]

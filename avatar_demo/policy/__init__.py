"""Public mode: who a visitor is, what they may spend of the owner's key, and how much they may upload.

It owns identifying visitors (visitor), the house-key allowance decided before anything is prepared
or sent (house) and the per-visitor upload budget (uploads). It may import `core`, `store` (the
ledger), `providers.spec` (prices and limits) and `jobs.events` (how a job ended decides a refund).
"""

from .house import HousePolicy, HouseRules, Permit
from .uploads import UploadLimiter
from .visitor import Visitor, client_address, identify

__all__ = ["HousePolicy", "HouseRules", "Permit", "UploadLimiter", "Visitor", "client_address", "identify"]

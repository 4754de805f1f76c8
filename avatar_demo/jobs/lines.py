"""Which line a run waits in: one engine queue per gateway account, at that account's parallel limit.

The app's own key on a gateway is one account, with the limit its owner configured
(`<NAME>_MAX_PARALLEL`, default from the provider's module); in public mode it is partitioned per
visitor, so one visitor holds at most AVATAR_MAX_JOBS_PER_VISITOR of its places and the rest of their
runs wait in line instead of being refused. A visitor's own key is an account of its own (a partition
of the gateway's own-key queue). The offline preview renders on this machine's cores.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from dataclasses import dataclass

from ..providers.spec import ProviderSpec
from .queues import QueueSpec

__all__ = ["LineRules"]


@dataclass(frozen=True)
class LineRules:
    """The queues of one app."""

    app: str
    #: Parallel tasks per provider on the app's own key.
    parallel: Mapping[str, int]
    #: Names a visitor's own key by an HMAC under the server secret: the same account on every replica, and no
    #: trace of the key itself.
    secret: str
    #: Runs one visitor may have at the gateway at once (public mode), else None.
    per_visitor: int | None = None
    #: Previews rendered at once per process.
    preview_slots: int = 2

    def account(self, spec: ProviderSpec, user_key: str | None) -> str:
        """The gateway account a run spends: the app's own key, or the visitor's."""
        if spec.in_process:
            return spec.name
        if not user_key:
            return f"{spec.name}:house"
        digest = hmac.new(self.secret.encode(), user_key.encode(), hashlib.sha256).hexdigest()[:16]
        return f"{spec.name}:own-{digest}"

    def limit(self, spec: ProviderSpec) -> int:
        """The parallel tasks allowed on *spec*'s account of the app's own key."""
        return self.parallel.get(spec.name, spec.max_parallel)

    def queue(self, spec: ProviderSpec, account: str, visitor: str | None) -> tuple[QueueSpec, str | None]:
        """The queue for a run on *account*, and its partition key."""
        if spec.in_process:
            return QueueSpec(f"{self.app}.{spec.name}", per_process=self.preview_slots,
                             per_partition=_within(self.per_visitor, self.preview_slots)), visitor
        if account.endswith(":house"):
            limit = self.limit(spec)
            return QueueSpec(f"{self.app}.{spec.name}.house", limit=limit,
                             per_partition=_within(self.per_visitor, limit)), visitor
        return QueueSpec(f"{self.app}.{spec.name}.own", per_partition=spec.max_parallel), account


def _within(per_visitor: int | None, limit: int) -> int | None:
    # A visitor's share never exceeds the whole (the engine refuses a partition larger than its queue).
    return None if per_visitor is None else min(per_visitor, limit)

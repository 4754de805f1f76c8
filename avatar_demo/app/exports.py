"""Export zips for visitors: the run numbers asked for bounded before any work, the zips in their own budget.

An export is written once, into the folder it is served from (the page's own file cache, so Gradio does not
copy it again), and deletes itself an hour later. Exports have their own budget, apart from the retention cap
of videos and kept inputs, so one visitor's exports never push anyone's runs out. Each visitor makes one
export at a time and, in public mode, a few an hour; none is written when the disk is nearly full.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import math
import shutil
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from ..core.errors import DiskFull, InputError, NotAllowed
from ..core.text import Text

__all__ = ["EXPORTS_PER_HOUR", "KEEP_S", "MAX_IDS", "ExportShelf", "parse_run_ids"]

#: The most run numbers one export may name (the History shows at most 200 at a time).
MAX_IDS = 1000
#: Text longer than this cannot be MAX_IDS run numbers: refused before it is split.
_MAX_IDS_TEXT = MAX_IDS * 12
#: Exports one visitor may make per hour in public mode.
EXPORTS_PER_HOUR = 12
#: A zip only needs to live until its download starts.
KEEP_S = 3600.0
MB = 1024 * 1024


def _run_number(value: object) -> int:
    """One run number as an API caller may write it: 12, "12", 12.0, "12.0"; anything else is refused."""
    if isinstance(value, bool):
        raise ValueError(value)
    if isinstance(value, int):
        number = value
    else:
        text = str(value).strip()
        if text.isdigit():
            number = int(text)
        else:
            as_float = float(text)  # ValueError for words; inf and nan are caught below
            if not (math.isfinite(as_float) and as_float.is_integer()):
                raise ValueError(value)
            number = int(as_float)
    if not 0 <= number < 2**63:
        raise ValueError(value)
    return number


def parse_run_ids(value: object) -> list[int] | None:
    """Run numbers as a list, or text like "12, 13 14": de-duplicated, at most MAX_IDS; None when there are none.

    Counted and bounded before anything is converted or looked up, so a request naming a million runs costs
    no more than one naming a thousand.
    """
    if isinstance(value, (list, tuple)):
        if len(value) > MAX_IDS:
            raise InputError(Text("export.too_many_ids", count=len(value), most=MAX_IDS))
        values = [str(v) for v in value]
    else:
        text = str(value or "")
        if len(text) > _MAX_IDS_TEXT:
            raise InputError(Text("export.too_many_ids", count=text.count(",") + 1, most=MAX_IDS))
        values = text.replace(",", " ").split()
        if len(values) > MAX_IDS:
            raise InputError(Text("export.too_many_ids", count=len(values), most=MAX_IDS))
    try:
        found = list(dict.fromkeys(_run_number(v) for v in values))
    except (ValueError, OverflowError):
        raise InputError(Text("ui.run_numbers")) from None
    return found or None


class ExportShelf:
    """The folder exports are written to and served from, with its budget and its per-visitor limits.

    *budget_mb* caps the zips waiting to be downloaded, all visitors together (None: no cap); *per_hour* caps
    each visitor's exports (None: no cap); *min_free_mb* is the disk's free-space floor (AVATAR_MIN_FREE_MB).
    """

    def __init__(self, folder: Path, *, min_free_mb: float, budget_mb: float | None = None,
                 per_hour: int | None = None, keep_s: float = KEEP_S,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.folder = Path(folder)
        self.min_free_mb = min_free_mb
        self.budget_mb = budget_mb
        self.per_hour = per_hour
        self.keep_s = keep_s
        self._clock = clock
        self._busy: set[str] = set()
        self._made: dict[str, collections.deque[float]] = {}
        self.folder.mkdir(parents=True, exist_ok=True)

    @contextlib.contextmanager
    def turn(self, visitor: str) -> Iterator[None]:
        """While inside, *visitor* is making an export; NotAllowed when they are already, or made too many."""
        if visitor in self._busy:
            raise NotAllowed(Text("export.busy"))
        now = self._clock()
        made = self._made.setdefault(visitor, collections.deque())
        while made and made[0] < now - 3600:
            made.popleft()
        if self.per_hour is not None and len(made) >= self.per_hour:
            wait = math.ceil((made[0] + 3600 - now) / 60)
            raise NotAllowed(Text("export.rate", most=self.per_hour, minutes=max(1, wait)))
        self._busy.add(visitor)
        try:
            yield
            made.append(now)
        finally:
            self._busy.discard(visitor)
            if not made:
                del self._made[visitor]

    def room(self, size: int) -> None:
        """Raise unless a zip of *size* bytes fits the budget and leaves the disk above its floor (run in a thread)."""
        self.prune()
        free = shutil.disk_usage(self.folder).free
        if free - size < self.min_free_mb * MB:
            raise DiskFull(f"an export of {size / 1e6:.1f} MB would leave {max(0, free - size) / MB:.0f} MB free, "
                           f"AVATAR_MIN_FREE_MB asks for {self.min_free_mb:g}")
        if self.budget_mb is not None:
            waiting = sum(p.stat().st_size for p in self._zips())
            if waiting + size > self.budget_mb * MB:
                raise NotAllowed(Text("export.shelf_full", minutes=math.ceil(self.keep_s / 60)))

    def keep_for_a_while(self, path: Path) -> None:
        """*path* was just written here: delete it once it has had time to be downloaded."""
        with contextlib.suppress(RuntimeError):  # no loop (a script): prune() removes it later
            asyncio.get_running_loop().call_later(self.keep_s, lambda: path.unlink(missing_ok=True))

    def prune(self) -> None:
        """Delete zips older than keep_s (left by an earlier process, or missed by their timer)."""
        cutoff = time.time() - self.keep_s
        for path in self._zips():
            with contextlib.suppress(OSError):
                if path.stat().st_mtime < cutoff:
                    path.unlink()

    def _zips(self) -> list[Path]:
        try:
            return [p for p in self.folder.iterdir() if p.is_file()]
        except OSError:
            return []

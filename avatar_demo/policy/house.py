"""The house-key policy: in public mode strangers spend the owner's key only within an allowance, checked here.

Every event that can spend money (generate, the prompt lab, text to speech) asks this policy on
the server before anything is sent; the page only shows what it decided.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from ..core.errors import NotAllowed
from ..core.text import Text
from .. import providers
from ..core.status import Status
from ..providers.base import TtsResult
from ..providers.spec import ProviderSpec
from ..store.spending import Reservation, Usage, utc_day
from .visitor import Visitor

if TYPE_CHECKING:
    from ..store.ledger import Ledger
    from ..store.records import Record

__all__ = ["HousePolicy", "HouseRules", "Permit", "TTS_UNITS"]

#: What one text-to-speech call costs on Kling's price list.
TTS_UNITS = 0.05
_WAYS_ON = Text("house.ways_on")


@dataclass(frozen=True)
class HouseRules:
    """What strangers may do with the owner's key in public mode (a Space, a share link, AVATAR_PUBLIC=1)."""

    #: Paid runs per visitor per UTC day on the house key.
    free_runs: int = 3
    #: Seconds of audio per run on the house key (longer clips are trimmed).
    free_seconds: float = 15.0
    #: Kling units all visitors together may spend per UTC day on the house key.
    daily_units: float = 100.0
    #: False: bring-your-own-key only.
    house_key: bool = True
    #: Only signed-in visitors may spend the house key.
    require_login: bool = False
    #: Only members of these Hugging Face organizations may spend the house key (empty: anyone).
    allowed_orgs: tuple[str, ...] = ()
    #: Jobs one visitor may have running at once.
    max_jobs: int = 2
    #: Megabytes one visitor may upload per hour.
    upload_mb_per_hour: float = 300.0
    #: How many X-Forwarded-For entries, counted from the right, were added by proxies we trust.
    proxy_hops: int = 0


@dataclass(frozen=True)
class Permit:
    """What a visitor may do for one request, decided before anything is prepared or sent."""

    #: The visitor's own key, if they brought one (it pays; no allowance is used).
    user_key: str | None
    #: The owner's (house) key pays, within the allowance.
    house: bool
    #: The allowance's cap on audio seconds per run, and why, when it applies.
    voice_cap: tuple[float, str] | None = None


class HousePolicy:
    """The allowance rules of public mode; in a plain local run everything is allowed."""

    def __init__(self, rules: HouseRules, ledger: Ledger, *, public: bool) -> None:
        self.rules = rules
        self.ledger = ledger
        #: Whether strangers can reach the app (a Space, a share link, AVATAR_PUBLIC=1).
        self.public = public

    def permit(self, visitor: Visitor, spec: ProviderSpec, *, user_key: str | None, runs: int = 1) -> Permit:
        """Whether *visitor* may start *runs* jobs on *spec* now; raises NotAllowed saying what to do instead."""
        if not self.public:
            return Permit(user_key, house=not user_key)
        if spec.free or user_key:
            return Permit(user_key, house=False)
        self._may_use_house_key(visitor)
        used = self.ledger.usage(visitor.key, utc_day())
        self._check_left(used, runs=runs)
        return Permit(None, house=True, voice_cap=self.voice_cap(spec, user_key=None))

    def voice_cap(self, spec: ProviderSpec, *, user_key: str | None) -> tuple[float, Text] | None:
        """The allowance's cap on seconds of voice, and why: on the house key in public mode only."""
        if not self.public or spec.free or user_key:
            return None
        return self.rules.free_seconds, Text("house.voice_cap", seconds=self.rules.free_seconds)

    def _may_use_house_key(self, visitor: Visitor) -> None:
        rules = self.rules
        if not rules.house_key:
            raise NotAllowed(Text("house.no_free_runs", ways=_WAYS_ON))
        if rules.require_login and not visitor.signed_in:
            raise NotAllowed(Text("house.sign_in", ways=_WAYS_ON))
        if rules.allowed_orgs and not set(visitor.orgs) & set(rules.allowed_orgs):
            raise NotAllowed(Text("house.members_only", orgs=list(rules.allowed_orgs), ways=_WAYS_ON))

    def _check_left(self, used: Usage, *, runs: int = 0, speech: int = 0, units: float = 0.0) -> None:
        rules = self.rules
        if runs and used.runs + runs > rules.free_runs:
            left = max(0, rules.free_runs - used.runs)
            raise NotAllowed(Text("house.runs_left", left=left, total=rules.free_runs, runs=runs, ways=_WAYS_ON))
        if speech and used.speech + speech > self.speech_limit:
            raise NotAllowed(Text("house.speech_used", calls=self.speech_limit))
        if used.all_units + units > rules.daily_units + 1e-9:
            raise NotAllowed(Text("house.budget_used", ways=_WAYS_ON))

    @property
    def speech_limit(self) -> int:
        """Free text-to-speech calls per visitor per day (twice the free runs)."""
        return 2 * self.rules.free_runs

    def reserve(self, visitor: Visitor, permit: Permit, *, units: list[float], speech: int = 0) -> list[Reservation]:
        """Take one reservation per job (*units* each) at once, or raise NotAllowed; nothing when the house pays nothing."""
        if not (self.public and permit.house):
            return []
        day = utc_day()
        runs = 0 if speech else len(units)
        taken = self.ledger.reserve(visitor.key, day, runs=runs, speech=speech, units=sum(units),
                                    max_runs=self.rules.free_runs, max_speech=self.speech_limit,
                                    max_units=self.rules.daily_units)
        if isinstance(taken, Usage):
            self._check_left(taken, runs=runs, speech=speech, units=sum(units))
            raise NotAllowed(Text("house.runs_used", ways=_WAYS_ON))
        if speech:
            return [taken]
        # One part per job, so each can be given back on its own if its create is refused.
        return [Reservation(day, visitor.key, 1, 0, u) for u in units]

    def check_audio_id(self, visitor: Visitor, permit: Permit, audio_id: str | None) -> float | None:
        """On the house key an audio id must be one this visitor made here (ids would name other people's speech),
        no longer than the allowance's voice cap; returns its length, which the run is estimated and reserved by
        (None off the house key, where the gateway alone says what it takes)."""
        if not (self.public and permit.house and audio_id):
            return None
        made = self.ledger.speech(audio_id)
        if made is None or made.visitor != visitor.key:
            raise NotAllowed(Text("house.audio_id_not_yours"))
        if made.seconds is None:
            raise NotAllowed(Text("house.speech_length_unknown", ways=_WAYS_ON))
        cap = permit.voice_cap[0] if permit.voice_cap else None
        if cap is not None and made.seconds > cap + 0.05:
            raise NotAllowed(Text("house.speech_too_long", seconds=made.seconds, cap=cap, ways=_WAYS_ON))
        return made.seconds

    def remember_speech(self, visitor: Visitor, permit: Permit, result: TtsResult) -> None:
        """Text to speech on the house key made *result* for *visitor*: its id, and its length."""
        if self.public and permit.house:
            self.ledger.remember_speech(visitor.key, result.audio_id, result.duration_s)

    def settle_run(self, record: Record) -> None:
        """A run ended: give its reservation back if nothing was created (a definite refusal, a cancel in line),
        else book what the gateway says it charged in place of the estimate. Once per run, on any replica."""
        if record.reserved_day is None or record.visitor is None:
            return
        reservation = Reservation(record.reserved_day, record.visitor, 1, 0, record.reserved_units or 0.0)
        refund = record.task_id is None and record.status in (Status.FAILED, Status.CANCELLED)
        pricing = providers.spec(record.provider).pricing
        charged = pricing.charged(record.units).units if pricing is not None and record.units is not None else None
        self.ledger.settle(record.id, reservation, refund=refund, units=charged)

    def refund(self, reservations: list[Reservation]) -> None:
        """Give reservations back whose jobs were never sent."""
        for reservation in reservations:
            self.ledger.release(reservation)

    def allowance_line(self, visitor: Visitor) -> Text | str:
        """What the page says about the allowance ("2 of 3 free runs left today · resets 00:00 UTC")."""
        if not self.public:
            return ""
        rules = self.rules
        if not rules.house_key:
            return Text("house.own_keys_only")
        used = self.ledger.usage(visitor.key, utc_day())
        left = max(0, rules.free_runs - used.runs)
        line = Text("house.line", left=left, total=rules.free_runs, seconds=rules.free_seconds,
                    who=Text("house.line.who", name=visitor.label) if visitor.signed_in else "")
        if rules.require_login and not visitor.signed_in:
            line = Text("house.line.more", line=line, more=Text("house.line.sign_in"))
        if used.all_units >= rules.daily_units:
            line = Text("house.line.more", line=line, more=Text("house.line.budget_used"))
        return line

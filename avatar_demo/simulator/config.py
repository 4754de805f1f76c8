"""How the simulated gateways behave: their pace, the keys they accept, and the knobs for misbehaviour."""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["Faults", "SimulatorConfig"]


@dataclass
class Faults:
    """Knobs for misbehaviour; tests change them on the live state, people via POST /sim/faults."""

    latency_s: float = 0.0
    #: Probability that a poll (GET) answers 5xx.
    poll_error_rate: float = 0.0
    #: Every Nth poll answers 429 with Retry-After (0 = never).
    poll_429_every: int = 0
    retry_after_s: float = 1.0
    #: The next N creates are refused for capacity (Kling 1303 / crun 429).
    capacity_refusals: int = 0
    #: The next N creates are refused for their content, before any task exists (Kling 1301; a 4xx elsewhere).
    refused_creates: int = 0
    #: The next N creates store the task, then answer oddly (ambiguous_mode says how).
    ambiguous_creates: int = 0
    #: "gateway_timeout" answers 504/5002; "drop" cuts the connection mid-reply; "unknown_status" accepts the task
    #: under the status word odd_status_word; "not_json" answers 200 with an HTML page; "unknown_code" answers a 5xx
    #: with a business code no table names.
    ambiguous_mode: str = "gateway_timeout"
    odd_status_word: str = "pending"
    #: The next N tasks end "failed".
    failing_tasks: int = 0
    #: The next N downloads of a finished video answer 503.
    video_errors: int = 0
    seed: int = 7


@dataclass
class SimulatorConfig:
    """How the simulated gateways behave."""

    job_seconds: float = 8.0
    #: Accepted plain keys per gateway; None accepts any non-empty key.
    keys: dict[str, set[str]] | None = None
    #: Kling access key -> secret key, for verifying JWTs.
    jwt_secrets: dict[str, str] = field(default_factory=dict)
    #: At most this many unfinished tasks per gateway before capacity refusals (0 = unlimited).
    max_in_flight: int = 0
    faults: Faults = field(default_factory=Faults)

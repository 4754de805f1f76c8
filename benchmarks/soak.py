"""The fault soak: 50 jobs across every gateway, status outages up to 60 s, 5xx and 429 faults, unclear creates,
and one SIGKILL and restart of the app mid-run; the app and the simulator are separate processes.

Prints what the gateways billed against the app's history and against everything the clients saw.

    python benchmarks/soak.py [--jobs 50] [--job-seconds 5] [--max-outage 60]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.soak import SoakConfig, run_soak  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=50)
    parser.add_argument("--job-seconds", type=float, default=5.0)
    parser.add_argument("--max-outage", type=float, default=60.0)
    parser.add_argument("--outages", type=int, default=3)
    args = parser.parse_args()
    config = SoakConfig(jobs=args.jobs, job_seconds=args.job_seconds, max_outage_s=args.max_outage,
                        outages=args.outages, kill_after=args.jobs // 2, settle_s=300.0)
    work = Path(tempfile.mkdtemp(prefix="soak-"))
    started = time.monotonic()
    report = run_soak(work, config)
    print(f"{config.jobs} jobs over {', '.join(config.gateways)}; {config.outages} outages of up to "
          f"{config.max_outage_s:g} s; 5xx rate {config.poll_error_rate:g}, a 429 every {config.poll_429_every} polls, "
          f"an unclear create every {config.ambiguous_every} jobs; SIGKILL after {config.kill_after} submissions; "
          f"{time.monotonic() - started:.0f} s in all (data in {work})\n")
    print(report.table())
    if report.unknown_on:
        print(f"\noutcome unknown to the app (no lookup, no callbacks): {', '.join(report.unknown_on)}")
    for label, items in (("billed but reported failed", report.billed_reported_failed),
                         ("try again", report.try_again), ("unsettled", report.unsettled)):
        for item in items:
            print(f"{label}: {item}")


if __name__ == "__main__":
    main()

"""Admission to a gateway account: a limit learned from capacity refusals, oldest waiter first, held across threads."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from avatar_demo.core.status import Status
from avatar_demo.store.accounts import AccountLines
from avatar_demo.store.history import History, RunFacts

ACCOUNT = "kling:ak-1"
#: Statuses of a run that holds a place at its gateway account.
AT_GATEWAY = [Status.SUBMITTING, Status.CONFIRMING, Status.QUEUED, Status.RUNNING, Status.UNREACHABLE]


@pytest.fixture
def lines(history: History) -> AccountLines:
    return AccountLines(history)


def run(history: History, status: Status = Status.PENDING, account: str = ACCOUNT, **fields: object) -> int:
    row = history.begin("kling", owner="alice", prompt="p", mode="std", external_task_id=None,
                        facts=RunFacts(account=account))
    if status is not Status.PENDING or fields:
        history.update(row, status=status, **fields)
    return row


def status(history: History, row: int) -> Status:
    return history.get(row).status  # type: ignore[union-attr]


def learn(history: History, lines: AccountLines, limit: int) -> None:
    """Teach the account *limit*, then let it drain, so the next runs meet the limit and nothing else."""
    busy = [run(history, Status.RUNNING) for _ in range(limit)]
    refused = run(history, Status.SUBMITTING)
    assert lines.refused(refused, ACCOUNT) == limit
    for row in [*busy, refused]:
        history.update(row, status=Status.DONE)


@pytest.mark.parametrize("busy", [0, 1, 5])
def test_nothing_learned_admits_at_once(history: History, lines: AccountLines, busy: int) -> None:
    """With no limit learned the account takes the run (the engine's queue holds the configured limit)."""
    for _ in range(busy):
        run(history, Status.RUNNING)
    row = run(history)
    assert lines.admit(row, ACCOUNT) is True
    assert status(history, row) is Status.SUBMITTING
    assert lines.learned(ACCOUNT) is None


@pytest.mark.parametrize(
    ("at_gateway", "elsewhere", "learned_before", "limit"),
    [
        ([], [], None, 1),  # nothing else there: the account takes one at least
        ([Status.RUNNING], [], None, 1),
        ([Status.RUNNING, Status.QUEUED, Status.SUBMITTING], [], None, 3),
        (AT_GATEWAY, [], None, len(AT_GATEWAY)),  # every status that holds a place counts
        ([Status.RUNNING, Status.DONE, Status.WAITING, Status.PENDING, Status.OVERDUE], [], None, 1),  # these do not
        ([Status.RUNNING, Status.RUNNING], [Status.RUNNING] * 3, None, 2),  # another account's tasks do not
        ([Status.RUNNING] * 4, [], 2, 2),  # a lower limit learned before stands
        ([Status.RUNNING] * 2, [], 4, 2),  # a lower one is learned
    ],
)
def test_a_refusal_learns_the_tasks_at_the_gateway_besides_the_run(
        history: History, lines: AccountLines, at_gateway: list[Status], elsewhere: list[Status],
        learned_before: int | None, limit: int) -> None:
    """refused() learns the limit: the account's tasks at the gateway besides the refused run (at least 1, never
    above a limit already learned); the run waits, its sent_at cleared, since nothing was made."""
    if learned_before is not None:
        learn(history, lines, learned_before)
    for each in at_gateway:
        run(history, each)
    for each in elsewhere:
        run(history, each, account="fal:other")
    refused = run(history, Status.SUBMITTING, sent_at=1234.5)
    assert lines.refused(refused, ACCOUNT) == limit
    assert lines.learned(ACCOUNT) == limit
    after = history.get(refused)
    assert after is not None and (after.status, after.sent_at) == (Status.WAITING, None)
    assert lines.learned("fal:other") is None


@pytest.mark.parametrize(("limit", "busy", "admitted"), [(1, 0, True), (2, 1, True), (2, 2, False), (3, 5, False)])
def test_a_learned_limit_holds_runs_past_it(history: History, lines: AccountLines, limit: int, busy: int,
                                           admitted: bool) -> None:
    """Once a limit is learned, a run is admitted only while the account's tasks at the gateway are fewer."""
    learn(history, lines, limit)
    for _ in range(busy):
        run(history, Status.RUNNING)
    row = run(history)
    assert lines.admit(row, ACCOUNT) is admitted
    assert status(history, row) is (Status.SUBMITTING if admitted else Status.WAITING)


def test_an_older_waiter_makes_a_newer_run_wait(history: History, lines: AccountLines) -> None:
    """A run newer than one already waiting waits behind it even when there is room: the oldest goes first."""
    waiter = run(history, Status.WAITING)
    newer = run(history)
    assert lines.admit(newer, ACCOUNT) is False
    assert status(history, newer) is Status.WAITING
    other_account = run(history, account="fal:other")
    assert lines.admit(other_account, "fal:other") is True
    assert history.waiting(ACCOUNT) == [waiter, newer]


@pytest.mark.parametrize("ended", [s for s in Status if not s.active])
def test_a_run_that_ended_in_line_is_never_admitted(history: History, lines: AccountLines, ended: Status) -> None:
    """A run cancelled (or otherwise ended) after its create step looked, but before it asked for the room, is not
    admitted and keeps its status: nothing may be sent for a run shown as cancelled and given back."""
    row = run(history, ended)
    assert lines.admit(row, ACCOUNT) is False
    assert status(history, row) is ended
    assert history.at_gateway(ACCOUNT) == 0


def test_a_run_given_the_room_is_admitted_again(history: History, lines: AccountLines) -> None:
    """A run already SUBMITTING (release() gave it the room, or an earlier attempt of its step took it) keeps it,
    though the account is now full and an older run has come to wait."""
    learn(history, lines, 1)
    older = run(history, Status.WAITING)
    run(history, Status.RUNNING)
    given = run(history, Status.SUBMITTING)
    assert lines.admit(given, ACCOUNT) is True
    assert status(history, given) is Status.SUBMITTING
    assert history.waiting(ACCOUNT) == [older]


def test_release_gives_the_room_to_the_oldest_waiter_while_it_fits(history: History, lines: AccountLines) -> None:
    """A task ending lets exactly one waiting run send, oldest first, and only while busy < learned."""
    learn(history, lines, 2)
    busy = [run(history, Status.RUNNING) for _ in range(2)]
    waiters = [run(history) for _ in range(3)]
    assert [lines.admit(row, ACCOUNT) for row in waiters] == [False, False, False]
    assert lines.release(ACCOUNT) is None  # nothing ended: still full
    history.update(busy[0], status=Status.DONE)
    assert lines.release(ACCOUNT) == waiters[0]
    assert [status(history, row) for row in waiters] == [Status.SUBMITTING, Status.WAITING, Status.WAITING]
    assert lines.release(ACCOUNT) is None  # the room was given: full again
    assert status(history, waiters[1]) is Status.WAITING
    history.update(busy[1], status=Status.FAILED)
    assert lines.release(ACCOUNT) == waiters[1]
    assert history.waiting(ACCOUNT) == [waiters[2]]
    assert lines.learned(ACCOUNT) == 2


def test_the_learned_limit_is_forgotten_once_the_account_has_drained(history: History, lines: AccountLines) -> None:
    """With nobody waiting, a release keeps the limit while tasks remain and forgets it when none do: the next
    batch starts from the configured limit again."""
    learn(history, lines, 1)
    last = run(history, Status.RUNNING)
    assert lines.release(ACCOUNT) is None
    assert lines.learned(ACCOUNT) == 1
    history.update(last, status=Status.DONE)
    assert lines.release(ACCOUNT) is None
    assert lines.learned(ACCOUNT) is None
    many = [run(history) for _ in range(3)]
    assert [lines.admit(row, ACCOUNT) for row in many] == [True, True, True]


def test_a_learned_limit_is_kept_while_runs_wait(history: History, lines: AccountLines) -> None:
    """Nothing at the gateway but runs still waiting is not drained: the waiter gets the room, the limit stays."""
    learn(history, lines, 1)
    waiter = run(history, Status.WAITING)
    assert lines.release(ACCOUNT) == waiter
    assert lines.learned(ACCOUNT) == 1


@pytest.mark.parametrize("round_", range(3))
@pytest.mark.parametrize("limit", [1, 3])
def test_threads_admitting_at_once_never_pass_the_learned_limit(history: History, lines: AccountLines,
                                                                race: Callable[..., list[Any]], limit: int,
                                                                round_: int) -> None:
    """Many runs asking for the same account at the same moment (real threads, one SQLite file): exactly *limit*
    are admitted and the rest wait, in one line."""
    learn(history, lines, limit)
    rows = [run(history) for _ in range(24)]
    answers = race(len(rows), lambda i: lines.admit(rows[i], ACCOUNT), history.db)
    assert answers.count(True) == limit
    assert history.at_gateway(ACCOUNT) == limit
    assert len(history.waiting(ACCOUNT)) == len(rows) - limit

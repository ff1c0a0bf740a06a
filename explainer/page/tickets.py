"""Which run a visitor still wants: each Denoise press takes a ticket, and a session's older run stops at its
next step once a newer press took one. Kept in the server's memory, per session."""
from __future__ import annotations

import threading

_TICKETS: dict[str, int] = {}  # session -> the number of its newest Denoise press
_LOCK = threading.Lock()
_REMEMBERED = 10_000           # sessions remembered; past that the oldest half is forgotten


def new_ticket(session: str) -> int:
    """A Denoise press: its number, which makes every older run of the same session stop at its next step."""
    with _LOCK:
        if len(_TICKETS) > _REMEMBERED:
            for stale in list(_TICKETS)[:_REMEMBERED // 2]:
                del _TICKETS[stale]
        _TICKETS[session] = _TICKETS.get(session, 0) + 1
        return _TICKETS[session]


def still_newest(session: str, ticket: int | None):
    """Whether the run with this ticket is still its session's newest (a run without one always is)."""
    return lambda: ticket is None or _TICKETS.get(session) == ticket

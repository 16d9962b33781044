"""Browser sessions: closed when idle for a shift, when the users file changes, and never more than a cap."""

from __future__ import annotations

from edge_agent.aas_api import sessions
from edge_agent.aas_api.model import Principal
from edge_agent.aas_api.sessions import IDLE_S, MAX_SESSIONS, SessionStore
from edge_agent.opcua.rights import ROLE_RIGHTS

ALICE = Principal("alice", frozenset({"Operator"}), ROLE_RIGHTS["Operator"])


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_session_lives_while_used_and_ends_after_a_shift_idle() -> None:
    clock = Clock()
    store = SessionStore(clock)
    token, session = store.open(ALICE, "v1")
    assert len(token) >= 40 and len(session.csrf) >= 40 and token != session.csrf
    for _ in range(3):
        clock.now += IDLE_S - 1
        assert store.find(token, "v1") is session
    clock.now += IDLE_S + 1
    assert store.find(token, "v1") is None
    assert len(store) == 0


def test_a_changed_users_file_ends_every_session_opened_before() -> None:
    store = SessionStore(Clock())
    token, _ = store.open(ALICE, "v1")
    assert store.find(token, "v2") is None
    assert store.find(token, "v1") is None  # gone, not merely hidden


def test_logins_cannot_grow_the_sessions_without_bound() -> None:
    clock = Clock()
    store = SessionStore(clock)
    tokens = []
    for _ in range(MAX_SESSIONS + 5):
        clock.now += 1
        tokens.append(store.open(ALICE, "v1")[0])
    assert len(store) == MAX_SESSIONS
    assert store.find(tokens[0], "v1") is None and store.find(tokens[-1], "v1") is not None


def test_unknown_and_closed_tokens_find_nothing() -> None:
    store = SessionStore(Clock())
    token, _ = store.open(ALICE, None)
    store.close(token)
    assert store.find(token, None) is None
    assert store.find("made-up", None) is None
    assert sessions.COOKIE == "edge_agent_session"

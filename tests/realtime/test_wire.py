"""The wire's own pieces: the envelope, and scripts that publish inside their atomic step."""

import pytest

from core.redis import client
from realtime import publish, wire

pytestmark = pytest.mark.django_db


def test_the_envelope_round_trips():
    sealed = wire.seal("goal", '{"t":"goal"}', seq=7, user=42)

    assert wire.unseal(sealed) == wire.Envelope("goal", 7, 42, wire.current_cid(), '{"t":"goal"}')


def test_a_script_answers_its_frames_only_while_the_sink_is_watched(monkeypatch):
    script = publish.WireScript(client(), "emit('rt:x', 'm', 3, 5, 'hello')\nreturn 'done'")
    raw = client().register_script(wire.script("emit('rt:x', 'm', 3, 5, 'hello')\nreturn 1"))
    seen: list = []

    quiet = script()  # production: nobody watches, the frame does not travel back
    monkeypatch.setattr(publish, "sink", lambda sent: seen.extend(sent))
    watched = script()

    assert quiet == watched == b"done"
    assert [(s.t, s.seq) for s in seen] == [("m", 3)]
    assert raw(args=["0", "cid"]) == [1, []]
    assert raw(args=["1", "cid"]) == [1, [b"rt:x", b"m", 3, b"hello"]]

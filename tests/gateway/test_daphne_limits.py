"""gateway/daphne_server.py copies three protocol constants (it runs before Django's settings
exist, so it cannot import realtime.protocol): they must stay equal."""

import ast
from pathlib import Path

from gateway import limits
from realtime import protocol

SOURCE = Path(__file__).resolve().parents[2] / "gateway" / "daphne_server.py"


def constants() -> dict[str, object]:
    tree = ast.parse(SOURCE.read_text())
    return {
        node.targets[0].id: ast.literal_eval(node.value)
        for node in tree.body
        if isinstance(node, ast.Assign)
        and isinstance(node.targets[0], ast.Name)
        and node.targets[0].id.isupper()
    }


def test_the_daphne_launcher_enforces_the_documented_limits():
    copied = constants()

    assert copied["SEND_QUEUE_LIMIT"] == limits.SEND_QUEUE_LIMIT
    assert copied["CLOSE_SLOW"] == protocol.CLOSE_SLOW
    assert copied["MAX_MESSAGE_BYTES"] == limits.SERVER_MAX_MESSAGE_BYTES

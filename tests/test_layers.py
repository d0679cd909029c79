"""The layers of docs/architecture.md, checked: a module imports only from its own layer or
below (imports inside functions included: a late import hides a dependency, it does not
remove it); only realtime/ publishes or spells the wire's `rt:` prefix; task names travel
as strings only through the documented seams (`*/effects.py`, `*/tasks.py`)."""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

# What each app may import of the project's own packages.
ALLOWED: dict[str, set[str]] = {
    "core": set(),
    "realtime": {"core"},
    "matches": {"core", "realtime"},
    "predictions": {"core", "realtime", "matches"},
    "chat": {"core", "realtime", "matches", "predictions"},
    "notifications": {"core", "realtime", "matches", "predictions"},
    # The fans' page carries its first screen's data: the API's own answers for those reads.
    "webapp": {"core", "realtime", "matches.views", "matches.selectors"},
    # Reactions to match moments and share cards of them (and of a fan's points); a fan
    # banned from a match's room cannot react (chat's bans: PostgreSQL on REST, chat's hot
    # state on the socket, as `say` reads them).
    "social": {
        "core",
        "realtime",
        "matches",
        "predictions.models",
        "chat.selectors",
        "chat.live",
        "chat.sockets",
    },
    # Trending reads live matches' state, chat rates and watchers, all from Redis.
    "trending": {"core", "realtime", "chat.live", "chat.selectors"},
    # The socket server sits on top, and reaches the domains only through their selectors
    # (and chat's Redis side, which its `say` and room shards run on).
    "gateway": {
        "core",
        "realtime",
        "matches.selectors",
        "chat.live",
        "chat.sockets",
        "chat.frames",
        "social.sockets",
    },
}
PROJECT = {
    "core", "realtime", "matches", "predictions", "chat", "notifications", "gateway", "webapp",
    "trending", "social", "livescore",
}  # fmt: skip


def imported_modules(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
    return found


def allowed(app: str, module: str) -> bool:
    top = module.split(".")[0]
    if top not in PROJECT or top == app:
        return True
    return any(module == ok or module.startswith(ok + ".") for ok in ALLOWED[app])


@pytest.mark.parametrize("app", sorted(ALLOWED))
def test_each_layer_imports_only_from_below(app):
    violations = [
        f"{path.relative_to(ROOT)} imports {module}"
        for path in sorted((ROOT / app).rglob("*.py"))
        if "migrations" not in path.parts
        for module in sorted(imported_modules(path))
        if not allowed(app, module)
    ]

    assert violations == []


def test_the_check_catches_an_upward_import(tmp_path):
    module = tmp_path / "bad.py"
    module.write_text("def f():\n    from predictions.tasks import settle_match_task\n")

    assert not allowed("matches", next(iter(imported_modules(module))))


def app_modules() -> list[Path]:
    return [
        path
        for app in sorted(PROJECT)
        for path in sorted((ROOT / app).rglob("*.py"))
        if "migrations" not in path.parts
    ]


def wire_writes(path: Path, root: Path = ROOT) -> list[str]:
    """Where a module publishes or names a pub/sub channel itself: a `.publish(` call, a
    string holding Redis' PUBLISH (a Lua script), a string starting with `rt:`."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            if node.func.attr == "publish":
                found.append(f"{path.relative_to(root)}:{node.lineno} calls .publish")
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            text = node.value
            if "PUBLISH" in text or text.startswith("rt:") or "'rt:" in text:
                found.append(f"{path.relative_to(root)}:{node.lineno} spells the wire")
    return found


def test_only_realtime_writes_to_the_wire():
    outside = [p for p in app_modules() if p.relative_to(ROOT).parts[0] != "realtime"]

    assert [w for path in outside for w in wire_writes(path)] == []


def task_names_sent(path: Path) -> list[str]:
    """Calls that send a task by name (`send_task`, `signature`)."""
    return [
        f"{path.relative_to(ROOT)}:{node.lineno}"
        for node in ast.walk(ast.parse(path.read_text(), str(path)))
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute | ast.Name)
        and getattr(node.func, "attr", getattr(node.func, "id", "")) in ("send_task", "signature")
    ]


def test_task_names_are_sent_only_from_the_seams():
    seams = {"effects.py", "tasks.py"}
    outside = [p for p in app_modules() if p.name not in seams]

    assert [s for path in outside for s in task_names_sent(path)] == []


def test_the_wire_check_catches_a_publish_and_a_script(tmp_path):
    module = tmp_path / "bad.py"
    module.write_text(
        "def f(r):\n    r.publish('rt:x', 'y')\nLUA = \"redis.call('PUBLISH', KEYS[1], ARGV[1])\"\n"
    )

    assert len(wire_writes(module, tmp_path)) == 3

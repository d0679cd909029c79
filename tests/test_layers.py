"""The layers of docs/architecture.md, checked: a module imports only from its own layer or
below (imports inside functions included: a late import hides a dependency, it does not
remove it)."""

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
    "webapp": {"core", "realtime"},
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
    },
}
PROJECT = {
    "core", "realtime", "matches", "predictions", "chat", "notifications", "gateway", "webapp",
    "trending", "livescore",
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

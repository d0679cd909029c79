"""Factories for the objects tests build by hand: teams, players, fans and staff. Fixtures
(tests/conftest.py and each app's conftest) are built from these, so a model's required
fields are spelled in one place."""

from __future__ import annotations

import itertools

from django.contrib.auth.models import Group, User

from matches.models import Player, Team

_counter = itertools.count(1)


def make_team(code: str) -> Team:
    team, _ = Team.objects.get_or_create(code=code, defaults={"name": f"Team {code}"})
    return team


def make_player(team: Team, name: str | None = None) -> Player:
    return Player.objects.create(team=team, name=name or f"Player {next(_counter)}")


def make_fan(name: str, password: str | None = None) -> User:
    """A fan who can sign in (password `pw-<name>-1` unless given)."""
    return User.objects.create_user(name, password=password or f"pw-{name}-1")


def make_fans(count: int, prefix: str = "fan") -> list[User]:
    """`count` fans named <prefix>1, <prefix>2, ..."""
    return [make_fan(f"{prefix}{n}") for n in range(1, count + 1)]


def make_staff(name: str, group: str, password: str | None = None) -> User:
    """A staff account in one of the roles (editor, operator, moderator: docs/operations.md)."""
    user = User.objects.create_user(name, password=password or f"pw-{name}-1", is_staff=True)
    user.groups.add(Group.objects.get(name=group))
    return user

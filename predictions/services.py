"""Writes for fans: predictions and private leagues."""

from __future__ import annotations

import datetime as dt
import secrets
from dataclasses import dataclass

from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from core.errors import DomainError
from core.users import User
from matches.models import Match, MatchStatus, Player
from matches.selectors import match_share_locked
from predictions import leaderboard, scoring, signals
from predictions.models import (
    Joker,
    Kind,
    League,
    LeagueInvite,
    LeagueMember,
    Prediction,
    UserScore,
)


class PredictionError(DomainError):
    """A fan's request breaks a rule; the message is safe to show. `status` is the HTTP one."""

    code = "prediction_rule"


@dataclass(frozen=True)
class Pick:
    """What a fan predicts for one kind (only the fields of that kind are set)."""

    home_goals: int | None = None
    away_goals: int | None = None
    outcome: str = ""
    player: Player | None = None
    no_goal: bool = False
    band: int | None = None


def prediction_locked(match: Match, now: dt.datetime | None = None) -> bool:
    """Locked at the actual kickoff: once the match left `scheduled`, or its kickoff time
    passed (server clock; a client's clock never decides). A postponed match stays open
    (its new kick-off, once set, is the lock); a delayed kick-off moves the lock with it."""
    now = now or timezone.now()
    if match.status == MatchStatus.POSTPONED:
        return False
    return match.status != MatchStatus.SCHEDULED or match.kickoff <= now


def prediction_check(match: Match, kind: str, pick: Pick) -> None:
    """The fields a pick of `kind` needs (raises PredictionError, a 400, when missing)."""
    if kind == Kind.SCORE and (pick.home_goals is None or pick.away_goals is None):
        raise PredictionError("a score needs home_goals and away_goals")
    if kind == Kind.WINNER and pick.outcome not in ("H", "D", "A"):
        raise PredictionError("outcome must be H, D or A")
    if kind == Kind.FIRST_SCORER:
        if (pick.player is None) == (not pick.no_goal):
            raise PredictionError("name a player, or no_goal, not both")
        if pick.player and pick.player.team_id not in (match.home_id, match.away_id):
            raise PredictionError("that player is not in either squad")
    if kind == Kind.POSSESSION and pick.band not in (1, 2, 3, 4):
        raise PredictionError("band must be 1, 2, 3 or 4")


def prediction_submit(
    *, user: User, match: Match, kind: str, pick: Pick
) -> tuple[Prediction, bool]:
    """Create or change the fan's prediction of `kind` (idempotent). Returns it and whether
    it was created. Refused once the match is locked."""
    prediction_check(match, kind, pick)
    with transaction.atomic():
        # A shared lock orders this against kick-off (which takes the row FOR UPDATE) without
        # making fans' submissions wait for each other.
        locked = match_share_locked(match.pk)
        if prediction_locked(locked):
            raise PredictionError("predictions for this match are locked", status=409)
        fields = {
            "home_goals": pick.home_goals,
            "away_goals": pick.away_goals,
            "outcome": pick.outcome,
            "player": pick.player,
            "no_goal": pick.no_goal,
            "band": pick.band,
        }
        return Prediction.objects.update_or_create(
            user=user, match=locked, kind=kind, defaults=fields
        )


@dataclass(frozen=True)
class Refused:
    """A pick or a joker of a matchday save that was not taken, and why."""

    match: str
    kind: str  # a prediction kind, or "joker"
    detail: str
    code: str


def matchday_submit(
    *, user: User, picks: list[tuple[Match, str, Pick]], jokers: list[Match]
) -> tuple[list[Prediction], list[Joker], list[Refused]]:
    """A whole matchday saved at once: each pick and each joker on its own (a match that
    kicked off since the form was drawn refuses its picks, the others are saved), each
    idempotent like its single save. Returns what was saved and what was refused."""
    saved, played, refused = [], [], []
    for match, kind, pick in picks:
        try:
            saved.append(prediction_submit(user=user, match=match, kind=kind, pick=pick)[0])
        except PredictionError as exc:
            refused.append(Refused(match.slug, kind, str(exc), _why(exc)))
    for match in jokers:
        try:
            played.append(joker_play(user=user, match=match)[0])
        except PredictionError as exc:
            refused.append(Refused(match.slug, "joker", str(exc), _why(exc)))
    return saved, played, refused


def _why(exc: PredictionError) -> str:
    return "locked" if exc.status == 409 else exc.code


# ---- jokers --------------------------------------------------------------------------------


def joker_play(*, user: User, match: Match) -> tuple[Joker, bool]:
    """Put the fan's joker for the match's stage on the match (doubling their points on it);
    moves it from another match of the stage unless that one has kicked off. Returns the
    joker and whether it changed."""
    if not scoring.rules_for(match).jokers:
        raise PredictionError("this competition has no jokers", status=409)
    with transaction.atomic():
        locked = match_share_locked(match.pk)
        if prediction_locked(locked):
            raise PredictionError("this match has kicked off", status=409)
        joker = Joker.objects.select_for_update().filter(user=user, stage_id=match.stage_id).first()
        if joker is None:
            try:
                with transaction.atomic():
                    return Joker.objects.create(
                        user=user, match=match, stage_id=match.stage_id
                    ), True
            except IntegrityError:  # a concurrent request of the same fan placed it first
                joker = Joker.objects.select_for_update().get(user=user, stage_id=match.stage_id)
        if joker.match_id == match.pk:
            return joker, False
        # The shared lock orders this against the other match's kick-off.
        if prediction_locked(match_share_locked(joker.match_id)):
            raise PredictionError(
                "your joker for this round is on a match that has kicked off", status=409
            )
        joker.match = match
        joker.save(update_fields=["match", "updated_at"])
        return joker, True


def joker_withdraw(*, user: User, match: Match) -> None:
    with transaction.atomic():
        if prediction_locked(match_share_locked(match.pk)):
            raise PredictionError("this match has kicked off", status=409)
        deleted, _ = Joker.objects.filter(user=user, match=match).delete()
    if not deleted:
        raise PredictionError("no joker on this match", status=404)


# ---- leagues -------------------------------------------------------------------------------

MAX_LEAGUE_MEMBERS = 500


def league_create(*, owner: User, name: str) -> League:
    with transaction.atomic():
        league = League.objects.create(owner=owner, name=name.strip()[:80] or "League")
        LeagueMember.objects.create(league=league, user=owner)
        # The owner is a member: on the league's board from the start, like any joiner.
        transaction.on_commit(lambda: _board_add(league, owner), robust=True)
    return league


def league_invite(
    *, league: League, by: User, expires_in: dt.timedelta, max_uses: int
) -> LeagueInvite:
    if league.owner_id != by.pk:
        raise PredictionError("only the owner invites", status=403)
    if not 1 <= max_uses <= MAX_LEAGUE_MEMBERS:
        raise PredictionError(f"max_uses must be 1 to {MAX_LEAGUE_MEMBERS}")
    return LeagueInvite.objects.create(
        league=league,
        code=invite_code_new(),
        expires_at=timezone.now() + expires_in,
        max_uses=max_uses,
    )


# Invite codes are read aloud and typed on phones: no look-alikes (0 O, 1 I L, U V) and no
# case. Ten of these 29 characters are about 48 bits, against a join limit per address.
INVITE_ALPHABET = "ABCDEFGHJKMNPQRSTWXYZ23456789"


def invite_code_new() -> str:
    code = "".join(secrets.choice(INVITE_ALPHABET) for _ in range(10))
    return f"{code[:5]}-{code[5:]}"


def invite_code_forms(typed: str) -> set[str]:
    """What a typed code may be stored as: as typed (codes made before the readable
    alphabet are case-sensitive), and normalised: upper case, spaces and dashes dropped."""
    bare = "".join(c for c in typed.upper() if c.isalnum())
    return {typed.strip(), f"{bare[:5]}-{bare[5:]}" if len(bare) == 10 else bare}


def league_join(*, user: User, code: str) -> League:
    """Join with an invite code; each use is counted once, under the invite's row lock."""
    with transaction.atomic():
        invite = (
            LeagueInvite.objects.select_for_update()
            .select_related("league")
            .filter(code__in=invite_code_forms(code))
            .first()
        )
        if invite is None:
            raise PredictionError("unknown invite code", status=404)
        if invite.expires_at <= timezone.now():
            raise PredictionError("this invite has expired", status=410)
        league = invite.league
        if LeagueMember.objects.filter(league=league, user=user).exists():
            return league
        if invite.uses >= invite.max_uses:
            raise PredictionError("this invite has been used up", status=410)
        if league.memberships.count() >= MAX_LEAGUE_MEMBERS:
            raise PredictionError("this league is full", status=409)
        try:
            with transaction.atomic():
                LeagueMember.objects.create(league=league, user=user)
        except IntegrityError:
            return league
        LeagueInvite.objects.filter(pk=invite.pk).update(uses=F("uses") + 1)
        # robust: the membership is committed; a board write lost to a Redis error is
        # repaired by the next rebuild rather than failing the join.
        transaction.on_commit(lambda: _board_add(league, user), robust=True)
    return league


def league_leave(*, league: League, user: User) -> None:
    if league.owner_id == user.pk:
        raise PredictionError("the owner cannot leave their league", status=409)
    _remove(league, user.pk)


def league_remove_member(*, league: League, by: User, user_id: int) -> None:
    if league.owner_id != by.pk:
        raise PredictionError("only the owner removes members", status=403)
    if user_id == by.pk:
        raise PredictionError("the owner cannot remove themselves", status=409)
    if not LeagueMember.objects.filter(league=league, user_id=user_id).exists():
        raise PredictionError("not a member", status=404)
    _remove(league, user_id)


def _remove(league: League, user_id: int) -> None:
    LeagueMember.objects.filter(league=league, user_id=user_id).delete()
    transaction.on_commit(lambda: _board_drop(league.pk, user_id), robust=True)
    transaction.on_commit(
        lambda: signals.member_left.send(League, league_id=league.pk, user_id=user_id),
        robust=True,
    )


def _board_add(league: League, user: User) -> None:
    score = UserScore.objects.filter(user=user).values_list("points", "exacts", "version").first()
    points, exacts, version = score or (0, 0, 0)
    leaderboard.write(leaderboard.league_scope(league.pk), [(user.pk, points, exacts, version)])


def _board_drop(league_id: int, user_id: int) -> None:
    leaderboard.remove(leaderboard.league_scope(league_id), user_id)

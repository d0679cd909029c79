"""Helpers for prediction tests: rows and played matches."""

from matches.models import MatchStatus
from matches.services import match_change_status, match_record_goal
from predictions.models import Prediction


def predict(user, match, kind, **fields) -> Prediction:
    """Direct rows for settlement tests (the lock rules are tested through the services)."""
    return Prediction.objects.create(user=user, match=match, kind=kind, **fields)


def play(match, goals=(), final=MatchStatus.FINISHED, possession=None):
    """Play a match: goals are (team, minute, player, kind) before half time or after."""
    from matches.services import match_set_possession

    match_change_status(match=match, status=MatchStatus.FIRST_HALF)
    for team, minute, player, kind in goals:
        if minute > 45 and match.status == MatchStatus.FIRST_HALF:
            match_change_status(match=match, status=MatchStatus.HALF_TIME, minute=45)
            match_change_status(match=match, status=MatchStatus.SECOND_HALF, minute=45)
        match_record_goal(match=match, team=team, minute=minute, player=player, kind=kind)
    if match.status == MatchStatus.FIRST_HALF:
        match_change_status(match=match, status=MatchStatus.HALF_TIME, minute=45)
        match_change_status(match=match, status=MatchStatus.SECOND_HALF, minute=45)
    if possession is not None:
        match_set_possession(match=match, home_possession=possession)
    match_change_status(match=match, status=final, minute=90)

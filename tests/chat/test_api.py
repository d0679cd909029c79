"""Chat over REST against real PostgreSQL and Redis: posting, history, every rule, and
moderation with its audit trail."""

import pytest

from chat import moderation, persistence
from chat.models import Message, ModerationAction, Report, Room
from chat.services import room_for_league
from core.redis import client
from predictions.services import league_create, league_remove_member
from tests.conftest import token_client
from tests.factories import make_fan

# transaction=True: the services apply Redis writes and frames on commit, as in production.
pytestmark = pytest.mark.django_db(transaction=True)


def post(api, room, text, cid):
    return api.post(
        f"/api/v1/chat/rooms/{room.pk}/messages/", {"text": text, "cid": cid}, format="json"
    )


def history(api, room, **params):
    return api.get(f"/api/v1/chat/rooms/{room.pk}/messages/", params)


def test_every_match_has_a_room_found_by_slug(api, match, room):
    found = api.get("/api/v1/chat/rooms/", {"match": match.slug})

    assert found.status_code == 200
    assert found.json() == {
        "id": room.pk, "channel": f"chat:room:{room.pk}", "match": match.slug, "league": None,
        "slow_seconds": 0,
    }  # fmt: skip


def test_a_room_is_made_on_first_lookup_and_keeps_its_id(api, match, fans):
    assert not Room.objects.filter(match=match).exists()  # nothing made when the match was

    first = api.get("/api/v1/chat/rooms/", {"match": match.slug})
    again = api.get("/api/v1/chat/rooms/", {"match": match.slug})

    assert first.status_code == again.status_code == 200
    assert first.json()["id"] == again.json()["id"] == Room.objects.get(match=match).pk
    assert api.get("/api/v1/chat/rooms/", {"match": "no-such-match"}).status_code == 404
    (owner, owner_api), *_ = fans
    league = league_create(owner=owner, name="Office")
    found = owner_api.get("/api/v1/chat/rooms/", {"league": league.pk})
    assert found.status_code == 200 and found.json()["league"] == league.pk
    assert owner_api.get("/api/v1/chat/rooms/", {"league": league.pk + 99}).status_code == 404


def test_every_chat_frame_reaches_the_sink_whichever_script_sent_it(
    room, fans, moderator, capture_frames
):
    (_, fan), *_ = fans
    (owner, owner_api), (member, member_api), _ = fans
    league = league_create(owner=owner, name="Office")
    invite = owner_api.post(f"/api/v1/leagues/{league.pk}/invites/").json()["code"]
    member_api.post("/api/v1/leagues/join/", {"code": invite}, format="json")
    office = room_for_league(league.pk)

    with capture_frames() as frames:
        post(fan, room, "Vamos", "c-1")  # chat's `say` script
        moderation.slow_mode_set(actor=moderator, room=room, seconds=10)  # the announce script
        league_remove_member(league=league, by=owner, user_id=member.pk)  # the fan-out script

    channel = f"chat:room:{room.pk}"
    assert [(f.channel, f.t) for f in frames] == [
        (channel, "m"),
        (channel, "room"),
        (f"chat:room:{office.pk}", "kick"),
    ]
    assert frames[0].d["x"] == "Vamos" and frames[1].d["slow"] == 10


def test_post_then_history_from_postgres_after_the_flush(api, room, fans):
    (user, fan), *_ = fans

    first = post(fan, room, "  Vamos\u200b Argentina  ", "c-1")
    again = post(fan, room, "Vamos Argentina", "c-1")  # a retry with the same cid
    persistence.pending_flush()

    assert first.status_code == 201 and again.status_code == 200
    assert again.json() == {**first.json(), "again": True}
    stored = Message.objects.get()
    assert (stored.pk, stored.text, stored.user_id) == (
        first.json()["id"],
        "Vamos Argentina",
        user.pk,
    )
    page = history(api, room).json()
    assert [m["text"] for m in page] == ["Vamos Argentina"]
    assert set(page[0]) == {"id", "user", "name", "text", "ts"}


def test_history_pages_backwards_with_before(api, room, fans, settings):
    settings.CHAT_USER_BURST = 100
    _, fan = fans[0]
    ids = [post(fan, room, f"message {i}", f"c{i}").json()["id"] for i in range(60)]

    newest = history(api, room).json()
    older = history(api, room, before=newest[-1]["id"]).json()

    assert [m["id"] for m in newest] == ids[::-1][:50]
    assert [m["id"] for m in older] == ids[::-1][50:]
    assert history(api, room, before="x").status_code == 400
    assert history(api, room, since=1).status_code == 400


def test_anonymous_reads_but_does_not_write(api, room):
    assert history(api, room).status_code == 200
    assert post(api, room, "hi", "c1").status_code == 401


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("", "empty"),
        ("\u200b \u202e", "empty"),
        ("x" * 281, "too_long"),
        ("x" * 5000, "too_long"),
        ("you 1d1ot", "blocked"),
        ("free tickets at tix.xyz", "link"),
    ],
)
def test_refused_text_gets_a_reason_and_stores_nothing(room, fans, blocklist, text, code):
    _, fan = fans[0]

    answer = post(fan, room, text, "c1")
    persistence.pending_flush()

    assert answer.status_code == 400
    assert answer.json()["code"] == code
    assert not Message.objects.exists()


def test_filter_refusals_are_audited(room, fans, blocklist):
    user, fan = fans[0]
    post(fan, room, "you i d i o t", "c1")
    post(fan, room, "see evil.xyz", "c2")
    post(fan, room, "hello", "c3")
    post(fan, room, "HELLO!", "c4")  # a duplicate

    persistence.pending_flush()

    rows = ModerationAction.objects.order_by("id")
    assert [r.action for r in rows] == ["blocked", "link", "duplicate"]
    assert rows[0].target_id == user.pk and rows[0].room_id == room.pk
    assert rows[0].detail["term"] == "idiot" and rows[1].detail["host"] == "evil.xyz"


def test_bad_cid_and_bad_types(room, fans):
    _, fan = fans[0]
    assert post(fan, room, "hi", "has space").json()["code"] == "bad_frame"
    assert post(fan, room, "hi", "x" * 65).status_code == 400
    assert (
        fan.post(
            f"/api/v1/chat/rooms/{room.pk}/messages/", {"text": ["x"], "cid": "c"}, format="json"
        ).status_code
        == 400
    )


def test_rate_limit_answers_429_with_the_wait(room, fans, settings):
    settings.CHAT_USER_BURST, settings.CHAT_USER_PER_MINUTE = 2, 6
    _, fan = fans[0]

    answers = [post(fan, room, f"msg {i}", f"c{i}") for i in range(3)]

    assert [a.status_code for a in answers] == [201, 201, 429]
    assert answers[2].json()["code"] == "rate_limited"
    assert 9 <= answers[2].json()["wait"] <= 10  # one token every 10 s
    assert answers[2]["Retry-After"] == "10"


def test_operator_slow_mode_on_and_off(room, fans, moderator):
    _, fan = fans[0]
    mod = token_client(moderator)

    assert (
        mod.patch(f"/api/v1/chat/rooms/{room.pk}/", {"slow_seconds": 30}, format="json").status_code
        == 200
    )
    first, second = post(fan, room, "one", "c1"), post(fan, room, "two", "c2")
    mod.patch(f"/api/v1/chat/rooms/{room.pk}/", {"slow_seconds": 0}, format="json")
    third = post(fan, room, "three", "c3")

    assert (first.status_code, second.status_code, third.status_code) == (201, 429, 201)
    assert second.json()["code"] == "slow_mode" and 29 < second.json()["wait"] <= 30
    assert ModerationAction.objects.filter(action="slow_mode").count() == 2


def test_fans_cannot_set_slow_mode(room, fans):
    _, fan = fans[0]
    assert (
        fan.patch(f"/api/v1/chat/rooms/{room.pk}/", {"slow_seconds": 5}, format="json").status_code
        == 403
    )


def test_automatic_slow_mode_on_a_flood_and_off_when_calm(room, settings):
    # The room's rate is counted per clock second: at 1 a second, any two of the eight posts
    # in one second are a flood, however slowly a loaded machine makes them.
    settings.CHAT_AUTO_SLOW_RATE, settings.CHAT_AUTO_SLOW_HOLD = 1, 5
    crowd = [token_client(make_fan(f"crowd{i}")) for i in range(8)]

    answers = [post(fan, room, f"goal {i}", "c1") for i, fan in enumerate(crowd)]
    slow = client().get(f"chat:r:{room.pk}:auto")
    client().delete(f"chat:r:{room.pk}:auto")  # the hold ran out
    calmed = persistence.rooms_calm()

    assert [a.status_code for a in answers] == [201] * 8  # over the rate: slow from now on
    assert int(slow) == settings.CHAT_AUTO_SLOW_SECONDS
    assert calmed == [room.pk]
    assert post(crowd[0], room, "again", "c2").status_code == 201


def test_duplicate_text_from_many_fans_is_refused(room, settings):
    settings.CHAT_ROOM_DUPLICATES = 3
    crowd = [token_client(make_fan(f"crowd{i}")) for i in range(5)]

    codes = [post(fan, room, "SPAM SPAM", "c1").status_code for fan in crowd]

    assert codes == [201, 201, 201, 400, 400]


def sanction(mod, room, user, kind, **extra):
    body = {"user": user.pk, "kind": kind, "reason": "abuse", **extra}
    return mod.post(f"/api/v1/chat/rooms/{room.pk}/sanctions/", body, format="json")


def test_mute_refuses_posts_until_lifted(room, fans, moderator):
    user, fan = fans[0]
    mod = token_client(moderator)

    muted = sanction(mod, room, user, "mute", minutes=10)
    refused = post(fan, room, "hello", "c1")
    mod.delete(f"/api/v1/chat/sanctions/{muted.json()['id']}/", {"reason": "ok"}, format="json")
    after = post(fan, room, "hello", "c2")

    assert muted.status_code == 201
    assert refused.status_code == 403 and refused.json()["code"] == "muted"
    assert refused.json()["until"] > 0
    assert after.status_code == 201
    assert list(ModerationAction.objects.values_list("action", flat=True).order_by("id")) == [
        "mute",
        "lift",
    ]


def test_a_mute_expires_by_itself(room, fans, moderator):
    user, fan = fans[0]
    post(fan, room, "before", "c0")
    sanction(token_client(moderator), room, user, "mute", minutes=1)
    client().pexpire(f"chat:sx:{room.pk}:{user.pk}", 1)  # a minute later (Redis's expiry)

    assert post(fan, room, "back", "c1").status_code == 201


def test_ban_refuses_and_survives_a_redis_loss(room, fans, moderator):
    user, fan = fans[0]
    sanction(token_client(moderator), room, user, "ban")
    client().flushdb()  # Redis lost everything: sanctions come back from PostgreSQL

    answer = post(fan, room, "hi", "c1")

    assert answer.status_code == 403 and answer.json()["code"] == "banned"
    assert answer.json()["until"] == 0  # until lifted


def test_shadow_mute_shows_the_author_only(api, room, fans, moderator):
    (user, fan), (_, other), _ = fans
    sanction(token_client(moderator), room, user, "shadow")

    answer = post(fan, room, "you cannot see this", "c1")

    assert answer.status_code == 201  # the author notices nothing
    assert [m["text"] for m in history(fan, room).json()] == ["you cannot see this"]
    assert history(other, room).json() == []
    assert history(api, room).json() == []


def test_only_moderators_sanction(room, fans):
    (_, fan), (other, _), _ = fans
    assert sanction(fan, room, other, "ban").status_code == 403


def test_delete_by_moderator_and_by_author(api, room, fans, moderator):
    (_, fan), (_, other), _ = fans
    mine = post(fan, room, "oops", "c1").json()["id"]
    theirs = post(other, room, "rude", "c1").json()["id"]
    mod = token_client(moderator)

    assert fan.delete(f"/api/v1/chat/messages/{theirs}/").status_code == 403
    assert fan.delete(f"/api/v1/chat/messages/{mine}/").status_code == 204
    assert (
        mod.delete(
            f"/api/v1/chat/messages/{theirs}/", {"reason": "rude"}, format="json"
        ).status_code
        == 204
    )
    assert history(api, room).json() == []
    assert client().zcard(f"chat:r:{room.pk}:recent") == 0
    assert ModerationAction.objects.filter(action="delete").count() == 2


def test_clear_removes_a_users_recent_messages(api, room, fans, moderator, settings):
    settings.CHAT_USER_BURST = 10
    (user, fan), (_, other), _ = fans
    for i in range(3):
        post(fan, room, f"spam {i}", f"c{i}")
    post(other, room, "fine", "c1")

    answer = token_client(moderator).post(
        f"/api/v1/chat/rooms/{room.pk}/clear/", {"user": user.pk, "reason": "spam"}, format="json"
    )

    assert answer.json() == {"cleared": 3}
    assert [m["text"] for m in history(api, room).json()] == ["fine"]


def test_reports_from_distinct_fans_hide_a_message(api, room, fans, moderator, settings):
    settings.CHAT_REPORTS_TO_HIDE = 2
    (_, author), (_, first), (_, second) = fans
    message = post(author, room, "borderline", "c1").json()["id"]

    url = f"/api/v1/chat/messages/{message}/report/"
    answers = [first.post(url, {"reason": "rude"}, format="json"), first.post(url, format="json")]
    visible_after_one = history(api, room).json()
    second.post(url, format="json")

    assert [a.status_code for a in answers] == [202, 202]  # a repeat counts once
    assert len(visible_after_one) == 1
    assert history(api, room).json() == []
    assert Message.objects.get(pk=message).hidden
    assert author.post(url, format="json").status_code == 400  # not your own

    # a moderator reviews it: restored
    token_client(moderator).post(
        f"/api/v1/chat/messages/{message}/review/", {"uphold": False}, format="json"
    )
    assert len(history(api, room).json()) == 1
    assert set(Report.objects.values_list("state", flat=True)) == {"dismissed"}
    assert list(ModerationAction.objects.values_list("action", flat=True).order_by("id")) == [
        "hide",
        "restore",
    ]


def test_league_room_is_members_only_and_removal_is_immediate(api, fans):
    (owner, owner_api), (member, member_api), (_, outsider_api) = fans
    league = league_create(owner=owner, name="Office")
    invite = owner_api.post(f"/api/v1/leagues/{league.pk}/invites/").json()["code"]
    member_api.post("/api/v1/leagues/join/", {"code": invite}, format="json")
    room = room_for_league(league.pk)

    assert post(member_api, room, "hi all", "c1").status_code == 201
    assert post(outsider_api, room, "let me in", "c1").status_code == 404
    assert history(outsider_api, room).status_code == 404
    assert api.get("/api/v1/chat/rooms/", {"league": league.pk}).status_code == 404

    league_remove_member(league=league, by=owner, user_id=member.pk)
    assert post(member_api, room, "still here?", "c2").status_code == 404


def test_deleted_room_messages_are_dropped_at_flush(room, fans, match):
    _, fan = fans[0]
    post(fan, room, "bye", "c1")
    Room.objects.filter(pk=room.pk).delete()

    persistence.pending_flush()

    assert not Message.objects.exists() and client().llen("chat:pending") == 0


def test_the_flush_is_idempotent(room, fans):
    _, fan = fans[0]
    post(fan, room, "once", "c1")
    pending = client().lrange("chat:pending", 0, -1)
    persistence.pending_flush()
    client().rpush("chat:pending", *pending)  # a worker died before trimming: flushed again

    persistence.pending_flush()

    assert Message.objects.count() == 1


# ---- hostile world, round 3 --------------------------------------------------------------------


def league_room(fans):
    (owner, owner_api), (_member, member_api), _ = fans
    league = league_create(owner=owner, name="Office")
    invite = owner_api.post(f"/api/v1/leagues/{league.pk}/invites/").json()["code"]
    member_api.post("/api/v1/leagues/join/", {"code": invite}, format="json")
    return room_for_league(league.pk)


def test_a_moderator_moderates_a_league_room_they_are_not_in(fans, moderator):
    room = league_room(fans)
    (_, _), (member, member_api), _ = fans
    mod = token_client(moderator)
    post(member_api, room, "rude words", "c1")

    banned = sanction(mod, room, member, "ban")
    listed = mod.get(f"/api/v1/chat/rooms/{room.pk}/sanctions/")
    slowed = mod.patch(
        f"/api/v1/chat/rooms/{room.pk}/", {"slow_seconds": 10, "reason": "calm"}, format="json"
    )
    cleared = mod.post(
        f"/api/v1/chat/rooms/{room.pk}/clear/", {"user": member.pk, "reason": "x"}, format="json"
    )

    assert banned.status_code == 201 and listed.status_code == 200
    assert slowed.status_code == 200 and cleared.status_code == 200
    assert history(mod, room).status_code == 200  # a moderator reads what they moderate


def test_a_banned_league_member_cannot_read_the_room_over_rest(fans, moderator):
    room = league_room(fans)
    (_, owner_api), (member, member_api), _ = fans
    post(owner_api, room, "members only", "c1")
    sanction(token_client(moderator), room, member, "ban")
    client().flushdb()  # and not even after Redis lost the sanctions

    answer = history(member_api, room)

    assert answer.status_code == 403 and answer.json()["code"] == "banned"
    assert "members only" not in answer.content.decode()


@pytest.mark.parametrize("query", [{"before": "²"}, {"before": "٣"}, {"before": "-1"}])
def test_history_parameters_are_validated_never_a_500(api, room, query):
    answer = history(api, room, **query)

    assert answer.status_code == 400 and "before" in answer.json()


@pytest.mark.parametrize("league", ["²", "١٢", "1.5", "x"])
def test_room_lookup_parameters_are_validated_never_a_500(api, league):
    answer = api.get("/api/v1/chat/rooms/", {"league": league})

    assert answer.status_code == 400 and "league" in answer.json()

import pytest
from django.contrib.auth.models import User

from chat import filters, selectors
from chat.models import BlockedTerm, Room
from chat.services import room_for_match
from core.redis import client
from tests.conftest import token_client
from tests.factories import make_fan, make_staff


@pytest.fixture(autouse=True)
def fresh_chat_state(db):
    """Each test starts with empty Redis (so the chat state rebuilds from PostgreSQL) and
    fresh per-process caches."""
    client().flushdb()
    filters.forget()
    selectors.forget_caches()
    yield
    filters.forget()
    selectors.forget_caches()


@pytest.fixture
def room(match) -> Room:
    return room_for_match(match.pk)


@pytest.fixture
def blocklist(db) -> None:
    BlockedTerm.objects.create(term="idiot")
    filters.forget()


@pytest.fixture
def moderator(db) -> User:
    return make_staff("mod", "moderator")


@pytest.fixture
def fans(db):
    """Three fans with API clients: [(user, client), ...]."""
    return [(user, token_client(user)) for user in (make_fan(f"fan{i}") for i in range(1, 4))]

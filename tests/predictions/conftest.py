import pytest
from django.contrib.auth.models import User


@pytest.fixture
def fans(db) -> list[User]:
    return [User.objects.create_user(f"fan{n}", password=f"pw-fan-{n}") for n in range(1, 5)]


@pytest.fixture(autouse=True)
def clean_boards(db):
    from realtime import publish

    publish.client().flushdb()

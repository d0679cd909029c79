import os

from django.conf import settings
from django.contrib.auth.models import Group, User
from django.core.management.base import BaseCommand, CommandError
from rest_framework.authtoken.models import Token

from matches.roles import roles_ensure


class Command(BaseCommand):
    help = (
        "Create (or reset) the demo operator login: staff, in the editor group, with an API token."
    )

    def handle(self, *args: object, **options: object) -> None:
        if not settings.DEBUG:
            # A staff account with a published password is a demo convenience only.
            raise CommandError(
                "refused: DEBUG is off. Create operators with `manage.py createsuperuser` "
                "or in admin, with a password of their own."
            )
        username = os.environ.get("DEMO_OPERATOR_USER", "operator")
        password = os.environ.get("DEMO_OPERATOR_PASSWORD", "livescore-demo")
        roles_ensure()
        user, _ = User.objects.get_or_create(username=username, defaults={"is_staff": True})
        user.is_staff = True
        user.set_password(password)
        user.save()
        user.groups.add(Group.objects.get(name="editor"))
        token, _ = Token.objects.get_or_create(user=user)
        self.stdout.write(f"demo operator: {username} / {password} (API token {token.key})")

"""The "moderator" role: moderates every room (chat.moderate) and works the admin queues."""

from django.contrib.auth.models import Group, Permission

MODELS = [
    "room",
    "message",
    "report",
    "sanction",
    "moderationaction",
    "blockedterm",
    "alloweddomain",
]


def roles_ensure() -> None:
    """Create or update the group; safe to run any number of times."""
    perms = Permission.objects.filter(content_type__app_label="chat").filter(
        codename__in=[
            "moderate",
            *[f"view_{m}" for m in MODELS],
            "change_room",
            "add_blockedterm",
            "change_blockedterm",
            "delete_blockedterm",
            "add_alloweddomain",
            "delete_alloweddomain",
            "add_roommoderator",
            "delete_roommoderator",
            "view_roommoderator",
        ]
    )
    group, _ = Group.objects.get_or_create(name="moderator")
    group.permissions.set(perms)

"""Operator roles: "operator" may look at everything, "editor" may also run matches."""

from django.contrib.auth.models import Group, Permission

MATCH_MODELS = ["competition", "stage", "team", "player", "match", "matchevent", "feedevent"]


def roles_ensure() -> None:
    """Create or update both groups; safe to run any number of times."""
    view = Permission.objects.filter(
        content_type__app_label="matches", codename__in=[f"view_{m}" for m in MATCH_MODELS]
    )
    manage = Permission.objects.filter(content_type__app_label="matches").exclude(
        codename__in=["add_matchevent", "change_matchevent", "delete_matchevent"]
    )
    operator, _ = Group.objects.get_or_create(name="operator")
    operator.permissions.set(view)
    editor, _ = Group.objects.get_or_create(name="editor")
    editor.permissions.set(manage)

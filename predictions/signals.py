"""The league events other apps may follow, sent by the league services (never by model
signals, so a reader of the services sees every consequence named where it starts)."""

from django.dispatch import Signal

# A fan left a league or was removed from it; sent once the removal is committed, with
# `league_id` and `user_id` (chat takes their sockets off the league's room).
member_left = Signal()

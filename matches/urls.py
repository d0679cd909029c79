from django.urls import path
from rest_framework.routers import DefaultRouter

from matches import views, views_feed

router = DefaultRouter()
router.register("competitions", views.CompetitionViewSet, basename="competition")
router.register("teams", views.TeamViewSet, basename="team")
router.register("matches", views.MatchViewSet, basename="match")

urlpatterns = [
    path("feed/events", views_feed.FeedEventsView.as_view(), name="feed-events"),
    *router.urls,
]

from rest_framework.routers import DefaultRouter

from matches import views

router = DefaultRouter()
router.register("competitions", views.CompetitionViewSet, basename="competition")
router.register("teams", views.TeamViewSet, basename="team")
router.register("matches", views.MatchViewSet, basename="match")

urlpatterns = router.urls

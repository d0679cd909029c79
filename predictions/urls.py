from django.urls import path

from predictions import views

urlpatterns = [
    path("matches/<slug:slug>/predictions/", views.MatchPredictionsView.as_view()),
    path("matches/<slug:slug>/predictions/<str:kind>/", views.PredictionPutView.as_view()),
    path("matches/<slug:slug>/prediction-counts/", views.PredictionCountsView.as_view()),
    path("matches/<slug:slug>/rules/", views.MatchRulesView.as_view()),
    path("matches/<slug:slug>/joker/", views.JokerView.as_view()),
    path("me/predictions/", views.MyPredictionsView.as_view()),
    path("me/jokers/", views.MyJokersView.as_view()),
    path("me/matchday/", views.MatchdayView.as_view()),
    path("competitions/<slug:slug>/outrights/<str:kind>/", views.OutrightView.as_view()),
    path("me/outrights/", views.MyOutrightsView.as_view()),
    path("leagues/", views.LeagueListView.as_view()),
    path("leagues/join/", views.LeagueJoinView.as_view()),
    path("leagues/<int:league_id>/invites/", views.LeagueInviteView.as_view()),
    path("leagues/<int:league_id>/leave/", views.LeagueLeaveView.as_view()),
    path("leagues/<int:league_id>/members/", views.LeagueMembersView.as_view()),
    path("leagues/<int:league_id>/members/<int:user_id>/", views.LeagueMemberView.as_view()),
    path("leaderboards/global/", views.GlobalBoardView.as_view()),
    path("leaderboards/match/<slug:slug>/", views.MatchBoardView.as_view()),
    path("leaderboards/league/<int:league_id>/", views.LeagueBoardView.as_view()),
]

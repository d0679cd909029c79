from django.urls import path

from social import views

urlpatterns = [
    path("matches/<slug:slug>/reactions/", views.MatchReactionsView.as_view()),
    path("matches/<slug:slug>/moments/<int:seq>/reaction/", views.MomentReactionView.as_view()),
]

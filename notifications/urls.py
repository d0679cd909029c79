from django.urls import path

from notifications import views

urlpatterns = [
    path("push/config/", views.PushConfigView.as_view()),
    path("push/follows/", views.FollowListView.as_view()),
    path("push/follows/<int:follow_id>/", views.FollowView.as_view()),
    path("push/preferences/", views.PreferencesView.as_view()),
    path("push/devices/", views.DeviceListView.as_view()),
    path("push/devices/<str:device_id>/", views.DeviceView.as_view()),
]

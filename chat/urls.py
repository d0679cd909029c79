from django.urls import path

from chat import views

urlpatterns = [
    path("chat/rooms/", views.RoomLookupView.as_view()),
    path("chat/rooms/<int:room_id>/", views.RoomView.as_view()),
    path("chat/rooms/<int:room_id>/messages/", views.MessagesView.as_view()),
    path("chat/rooms/<int:room_id>/clear/", views.ClearView.as_view()),
    path("chat/rooms/<int:room_id>/sanctions/", views.SanctionsView.as_view()),
    path("chat/sanctions/<int:sanction_id>/", views.SanctionView.as_view()),
    path("chat/messages/<int:message_id>/", views.MessageView.as_view()),
    path("chat/messages/<int:message_id>/report/", views.ReportView.as_view()),
    path("chat/messages/<int:message_id>/review/", views.ReviewView.as_view()),
]

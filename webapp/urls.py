from django.urls import path

from webapp import views

urlpatterns = [
    path("", views.index, name="webapp"),
    path("m/<slug:slug>", views.index, name="webapp-match"),
    path("sw.js", views.service_worker, name="service-worker"),
    path("favicon.ico", views.favicon, name="favicon"),
    path("manifest.webmanifest", views.manifest, name="manifest"),
]

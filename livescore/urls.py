from django.contrib import admin
from django.urls import include, path, register_converter
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from core.accounts import SignUpView, TokenView
from core.metrics import metrics
from livescore import health
from social import share


class HexConverter:
    regex = "[0-9a-f]{16}"

    def to_python(self, value: str) -> str:
        return value

    def to_url(self, value: str) -> str:
        return value


class ImageFormatConverter(HexConverter):
    regex = "webp|png"


register_converter(HexConverter, "hex")
register_converter(ImageFormatConverter, "imgfmt")

admin.site.site_header = "livescore operators"
admin.site.site_title = "livescore"

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/v1/", include("predictions.urls")),
    path("api/v1/", include("matches.urls")),
    path("api/v1/", include("chat.urls")),
    path("api/v1/", include("social.urls")),
    path("api/v1/", include("notifications.urls")),
    path("api/v1/", include("trending.urls")),
    path("api/v1/auth/token/", TokenView.as_view(), name="auth-token"),
    path("api/v1/auth/signup/", SignUpView.as_view(), name="auth-signup"),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="api-docs"),
    path("healthz", health.live, name="healthz"),
    path("readyz", health.ready, name="readyz"),
    path("metrics", metrics, name="metrics"),
    path("share/<slug:slug>/<slug:key>/", share.share_latest, name="share"),
    path("share/<slug:slug>/<slug:key>/<hex:digest>/", share.share_page, name="share-page"),
    path(
        "share/<slug:slug>/<slug:key>/<hex:digest>.<imgfmt:fmt>",
        share.share_image,
        name="share-image",
    ),
    path("", include("webapp.urls")),
]

handler404 = "core.api.not_found"
handler500 = "core.api.server_error"

from django.apps import AppConfig


class TrendingConfig(AppConfig):
    name = "trending"
    default_auto_field = "django.db.models.BigAutoField"

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "livescore.settings")

app = Celery("livescore")
app.config_from_object("celeryconfig")
app.autodiscover_tasks()

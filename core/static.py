"""Static files: WhiteNoise with content-hashed names (collectstatic), gzip-compressed copies,
and a year of immutable caching for hashed files (a new build has new names)."""

from django.core.files.storage import FileSystemStorage
from whitenoise.middleware import WhiteNoiseMiddleware
from whitenoise.storage import CompressedManifestStaticFilesStorage


class StaticFilesMiddleware(WhiteNoiseMiddleware):
    # WhiteNoise's default is ten years; a year is the longest lifetime HTTP caches honour
    # in practice (RFC 9111 recommends no more), and what the web client's budget states.
    FOREVER = 365 * 24 * 60 * 60


class StaticStorage(CompressedManifestStaticFilesStorage):
    """Hashed names whenever the files were collected, in DEBUG too (Django's manifest
    storage falls back to plain names in DEBUG, which would leave the demo's web client
    uncacheable); plain names only for files never collected (tests that render pages
    without running collectstatic). The web client's ES modules name each other
    (`import("./centre.js")`): their references are rewritten to the hashed names too."""

    support_js_module_import_aggregation = True

    def url(self, name: str | None, force: bool = False) -> str:
        try:
            return super().url(name, force=True)
        except ValueError:
            return FileSystemStorage.url(self, name)

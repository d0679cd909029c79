"""livescore settings: everything that differs between deployments comes from the environment.

Defaults serve the local demo (`make run`): DEBUG on, the project-managed PostgreSQL that
`make run` starts under var/ (127.0.0.1:5433), Redis on 127.0.0.1:6379.
Production sets DEBUG=0, SECRET_KEY, ALLOWED_HOSTS, DATABASE_URL and REDIS_URL; the
security settings then default to their strict values and `manage.py check --deploy` is clean.
"""

import datetime as dt
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

from livescore.env import env_bool, env_int, env_list, env_pairs, env_str

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(env_str("LIVESCORE_VAR_DIR", str(BASE_DIR / "var")))

DEBUG = env_bool("DEBUG", True)

_DEV_SECRET = "django-insecure-livescore-local-demo-key-not-for-production"
SECRET_KEY = env_str("SECRET_KEY", _DEV_SECRET if DEBUG else None)
if not DEBUG and SECRET_KEY in ("", _DEV_SECRET):
    raise ImproperlyConfigured("SECRET_KEY must be set when DEBUG is off")

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost"] if DEBUG else [])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework.authtoken",
    "axes",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "channels",
    "core",
    "matches",
    "predictions",
    "chat",
    "notifications",
    "trending",
    "social",
    "gateway",
    "webapp",
    "django_prometheus",
]

MIDDLEWARE = [
    # Request counts and latencies by view (django-prometheus), around everything else.
    "django_prometheus.middleware.PrometheusBeforeMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "core.api.UnavailableMiddleware",
    "core.static.StaticFilesMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Last, as django-axes requires: locks out repeated failed admin logins.
    "axes.middleware.AxesMiddleware",
    "django_prometheus.middleware.PrometheusAfterMiddleware",
]

AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
# Admin login: after AXES_FAILURE_LIMIT wrong passwords for one username from one IP, that
# pair is locked out for AXES_COOLOFF_MINUTES, even with the right password.
AXES_FAILURE_LIMIT = env_int("AXES_FAILURE_LIMIT", 5, minimum=1)
AXES_COOLOFF_TIME = dt.timedelta(minutes=env_int("AXES_COOLOFF_MINUTES", 15, minimum=1))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "core.accounts.lockout_response"  # JSON with Retry-After on the API
# Client IPs (for lockouts and per-IP rate limits) are REMOTE_ADDR: the ASGI servers run
# with --proxy-headers and take X-Forwarded-For only from trusted proxies
# (FORWARDED_ALLOW_IPS), so a client cannot pick its own identity with that header.

ROOT_URLCONF = "livescore.urls"
WSGI_APPLICATION = "livescore.wsgi.application"
ASGI_APPLICATION = "livescore.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

DATABASE_URL = env_str("DATABASE_URL", "postgres://postgres@127.0.0.1:5433/livescore")
if not DATABASE_URL.startswith(("postgres://", "postgresql://")):
    # Row locks (FOR SHARE), settlement SQL and concurrent writers need PostgreSQL; SQLite
    # would fail some features at run time instead of at start.
    raise ImproperlyConfigured("DATABASE_URL must be a postgres:// URL: livescore needs PostgreSQL")
# Under ASGI every request runs in a thread of its own, so persistent connections
# (CONN_MAX_AGE > 0) grow to one per thread (Django's docs: disable them under ASGI). A
# psycopg pool per process bounds them instead: a request waits up to the pool timeout for a
# connection, then is answered 503. DATABASE_POOL_MAX_SIZE=0 turns the pool off (behind
# PgBouncer in transaction mode, say): one short-lived connection per request then.
DATABASE_POOL_MAX_SIZE = env_int("DATABASE_POOL_MAX_SIZE", 10, minimum=0)
DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=0)}
DATABASES["default"]["OPTIONS"] = {
    # Operators see which role holds which connections in pg_stat_activity.
    "application_name": env_str("DATABASE_APPLICATION_NAME", "livescore"),
    "connect_timeout": env_int("DATABASE_CONNECT_TIMEOUT", 5, minimum=1),
}
# Behind PgBouncer in transaction mode (docs/scaling.md) consecutive transactions of one
# connection may run on different server sessions: no named server-side cursors (Django's
# .iterator()) and no prepared statements, both of which live in a session.
DATABASE_PGBOUNCER = env_bool("DATABASE_PGBOUNCER", False)
if DATABASE_PGBOUNCER:
    DATABASES["default"]["DISABLE_SERVER_SIDE_CURSORS"] = True
    DATABASES["default"]["OPTIONS"]["prepare_threshold"] = None
if DATABASE_POOL_MAX_SIZE:
    DATABASES["default"]["OPTIONS"]["pool"] = {
        "min_size": 1,
        "max_size": DATABASE_POOL_MAX_SIZE,
        "timeout": env_int("DATABASE_POOL_TIMEOUT", 5, minimum=1),
        "max_idle": 60,  # idle connections above min_size are closed after a minute
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = env_str("REDIS_URL", "redis://127.0.0.1:6379/0")
# Redis split by role (docs/scaling.md); each defaults to REDIS_URL, one server for all.
# Matches' live state (snapshot, timeline, live index) and their pub/sub channels are spread
# over REDIS_LIVE_URLS by a hash of the match slug (core/redis.py); leaderboards and
# provisional standings live on REDIS_LEADERBOARD_URL; everything else on REDIS_URL.
REDIS_LIVE_URLS = env_list("REDIS_LIVE_URLS", []) or [REDIS_URL]
REDIS_LEADERBOARD_URL = env_str("REDIS_LEADERBOARD_URL", REDIS_URL)

# The gateway fans out through its own hub (gateway/hub.py); the channel layer serves
# point-to-point messages and the stock-pattern baseline. redis-py's default pool of 100
# connections fails a connect burst with "Too many connections", hence the larger pool.
CHANNEL_LAYERS = {
    "default": {
        "BACKEND": "channels_redis.core.RedisChannelLayer",
        "CONFIG": {
            "hosts": [
                {"address": REDIS_URL, "max_connections": env_int("CHANNEL_LAYER_POOL", 1000)}
            ]
        },
    }
}

CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": REDIS_URL,
        # A paused Redis must fail fast (rate limits then fail open), never hang a request.
        "OPTIONS": {"socket_timeout": 1, "socket_connect_timeout": 1},
    }
}

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    # Hashed file names (and gzip copies) let the web client, flags and admin assets be
    # cached for a year by browsers and CDNs, in the demo as in production.
    "staticfiles": {"BACKEND": "core.static.StaticStorage"},
}
# Unhashed names for files not collected yet (tests that render pages without running
# collectstatic); servers run after collectstatic and always serve hashed names.
WHITENOISE_MANIFEST_STRICT = False

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "core.auth.CachedTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticatedOrReadOnly"],
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_FILTER_BACKENDS": ["core.filters.StrictFilterBackend"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"]
    + (["rest_framework.renderers.BrowsableAPIRenderer"] if DEBUG else []),
    "EXCEPTION_HANDLER": "core.api.exception_handler",
    "DEFAULT_PARSER_CLASSES": [
        "core.parsers.JSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "DEFAULT_THROTTLE_CLASSES": [
        "core.throttles.AnonThrottle",
        "core.throttles.UserThrottle",
        "core.throttles.WriteThrottle",
    ],
    # Documented in docs/operations.md; each can be set from the environment.
    "DEFAULT_THROTTLE_RATES": {
        "anon": env_str("THROTTLE_ANON", "600/min"),
        "user": env_str("THROTTLE_USER", "1200/min"),
        "writes": env_str("THROTTLE_WRITES", "60/min"),
        "league_join": env_str("THROTTLE_LEAGUE_JOIN", "10/min"),
        "feed": env_str("THROTTLE_FEED", "1200/min"),
        "login": env_str("THROTTLE_LOGIN", "10/min"),
        "signup": env_str("THROTTLE_SIGNUP", "5/hour"),
        "reactions": env_str("THROTTLE_REACTIONS", "30/min"),
    },
    "NUM_PROXIES": 0,  # REMOTE_ADDR, see above: never an X-Forwarded-For the client wrote
}

SPECTACULAR_SETTINGS = {
    "TITLE": "livescore API",
    "DESCRIPTION": "Live scores, match timelines and predictions for football fans.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "core.schema.add_error_responses",
    ],
    # Assets served from our own static files: the docs work offline and under a strict CSP.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "ENUM_NAME_OVERRIDES": {
        "EventKindEnum": "matches.models.EventKind",
        "CommandKindEnum": "matches.commands.COMMAND_KINDS",
        "MatchStatusEnum": "matches.models.MatchStatus",
        "StageKindEnum": "matches.models.Stage.Kind",
        "PredictionKindEnum": "predictions.models.Kind",
        "SanctionKindEnum": "chat.models.Sanction.Kind",
        "ReactionKindEnum": "social.models.ReactionKind",
    },
}

# Security: strict by default whenever DEBUG is off; each can still be overridden.
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", not DEBUG)
SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", not DEBUG)
CSRF_COOKIE_SECURE = env_bool("CSRF_COOKIE_SECURE", not DEBUG)
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 0 if DEBUG else 31536000, minimum=0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", not DEBUG)
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", not DEBUG)
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"

# Signed provider feeds: provider name -> shared secret, as "name:secret,name2:secret2".
FEED_PROVIDERS = env_pairs("FEED_PROVIDERS", {"demo": "demo-feed-secret"} if DEBUG else {})

# Prediction settlement: fans per chunk (bench/settlement.py measures the choice).
SETTLEMENT_CHUNK_USERS = env_int("SETTLEMENT_CHUNK_USERS", 10_000, minimum=100)

# Spike protection in each gateway process (docs/operations.md, "The goal moment"): new
# sockets admitted per second and the burst allowed above it (0: no limit); frames written
# to a socket that fell behind go out together, up to this many bytes per message.
GATEWAY_SPIKE_PROTECTION = env_bool("GATEWAY_SPIKE_PROTECTION", True)
# A background Celery worker's CPU priority (os.nice increment, 0-19): see livescore/celery.py.
CELERY_WORKER_NICE = env_int("CELERY_WORKER_NICE", 0, minimum=0)
GATEWAY_HANDSHAKES_PER_SECOND = env_int("GATEWAY_HANDSHAKES_PER_SECOND", 500, minimum=0)
GATEWAY_HANDSHAKE_BURST = env_int("GATEWAY_HANDSHAKE_BURST", 1000, minimum=1)
GATEWAY_COALESCE_BYTES = env_int("GATEWAY_COALESCE_BYTES", 16_384, minimum=0)

# WebSocket gateway.
WS_ALLOWED_ORIGINS = env_list(
    "WS_ALLOWED_ORIGINS",
    ["http://127.0.0.1:8000", "http://localhost:8000"] if DEBUG else [],
)
WS_IDLE_TIMEOUT = env_int("WS_IDLE_TIMEOUT", 60, minimum=5)
WS_STOCK_ENDPOINT = env_bool("WS_STOCK_ENDPOINT", False)  # benchmark baseline only

# Metrics: GET /metrics needs `Authorization: Bearer <METRICS_TOKEN>`; without a token it
# answers only loopback requests, and only in DEBUG (the local demo).
METRICS_TOKEN = env_str("METRICS_TOKEN", "")

# Chat (docs/chat.md explains each; the defaults are what bench/chat.py measured).
CHAT_USER_PER_MINUTE = env_int("CHAT_USER_PER_MINUTE", 60, minimum=1)  # token refill ...
CHAT_USER_BURST = env_int("CHAT_USER_BURST", 5, minimum=1)  # ... and bucket size, per fan
CHAT_ROOM_PER_SECOND = env_int("CHAT_ROOM_PER_SECOND", 2000, minimum=1)  # hard cap per room
CHAT_AUTO_SLOW_RATE = env_int("CHAT_AUTO_SLOW_RATE", 300, minimum=1)  # msgs/s switching ...
CHAT_AUTO_SLOW_SECONDS = env_int("CHAT_AUTO_SLOW_SECONDS", 10, minimum=1)  # ... this slow mode
CHAT_AUTO_SLOW_HOLD = env_int("CHAT_AUTO_SLOW_HOLD", 30, minimum=5)  # calm seconds before off
CHAT_DUPLICATE_SECONDS = env_int("CHAT_DUPLICATE_SECONDS", 30, minimum=1)
CHAT_ROOM_DUPLICATES = env_int("CHAT_ROOM_DUPLICATES", 5, minimum=1)  # same text, any fans, 10 s
CHAT_REPORTS_TO_HIDE = env_int("CHAT_REPORTS_TO_HIDE", 3, minimum=1)
CHAT_LINKS = env_str("CHAT_LINKS", "allowlist")  # "none", or "allowlist" (admin's domains)
CHAT_SHARD_SIZE = env_int("CHAT_SHARD_SIZE", 250, minimum=1)  # listeners per room shard
CHAT_TICK_MS = env_int("CHAT_TICK_MS", 500, minimum=10)  # one batch per shard per tick ...
CHAT_TICK_MAX = env_int("CHAT_TICK_MAX", 8, minimum=1)  # ... of at most this many messages
CHAT_STRIKES = env_int("CHAT_STRIKES", 10, minimum=1)  # refused posts before close 4008
# Push notifications (docs/notifications.md). VAPID keys: `manage.py vapid_keys` makes a pair.
VAPID_PRIVATE_KEY = env_str("VAPID_PRIVATE_KEY", "")  # raw P-256 private key, base64url
VAPID_PUBLIC_KEY = env_str("VAPID_PUBLIC_KEY", "")  # the browsers' applicationServerKey
VAPID_SUBJECT = env_str("VAPID_SUBJECT", "mailto:ops@livescore.invalid")
PUSH_HTTP_URL = env_str("PUSH_HTTP_URL", "")  # the HTTP-API backend (off when empty) ...
PUSH_HTTP_TOKEN = env_str("PUSH_HTTP_TOKEN", "")  # ... and its bearer token
PUSH_DEVICES_PER_USER = env_int("PUSH_DEVICES_PER_USER", 10, minimum=1)
PUSH_HOLD_SECONDS = env_int("PUSH_HOLD_SECONDS", 20, minimum=0)  # a goal waits for VAR
PUSH_CHUNK_USERS = env_int("PUSH_CHUNK_USERS", 5000, minimum=1)  # followers per chunk task
PUSH_CONCURRENCY = env_int("PUSH_CONCURRENCY", 256, minimum=1)  # requests in flight, per process
PUSH_RATE = env_int("PUSH_RATE", 5000, minimum=1)  # per backend per second, all workers
PUSH_CA_FILE = env_str("PUSH_CA_FILE", "")  # extra CAs to trust (a private push gateway)
PUSH_TIMEOUT = env_int("PUSH_TIMEOUT", 10, minimum=1)  # seconds per request
PUSH_MAX_ATTEMPTS = env_int("PUSH_MAX_ATTEMPTS", 6, minimum=1)  # per chunk, then failed
PUSH_BACKOFF_BASE = env_int("PUSH_BACKOFF_BASE", 2, minimum=1)  # seconds, doubled per attempt
PUSH_BACKOFF_CAP = env_int("PUSH_BACKOFF_CAP", 60, minimum=1)
PUSH_BREAKER_FAILURES = env_int("PUSH_BREAKER_FAILURES", 50, minimum=1)  # in a row: off ...
PUSH_BREAKER_SECONDS = env_int("PUSH_BREAKER_SECONDS", 30, minimum=1)  # ... for this long
PUSH_CAP_WINDOW = env_int("PUSH_CAP_WINDOW", 60, minimum=1)  # seconds of a fan's cap
PUSH_RELEASE_GRACE = env_int("PUSH_RELEASE_GRACE", 10, minimum=1)  # before the reconciler acts
PUSH_STALE_SECONDS = env_int("PUSH_STALE_SECONDS", 180, minimum=30)  # untouched chunk: re-sent
# Kinds not pushed to a fan whose socket was written the event's frame (goals, cards); empty
# switches it off, and the gateway then notes nothing.
PUSH_SKIP_LIVE_KINDS = [
    k.strip() for k in env_str("PUSH_SKIP_LIVE_KINDS", "goal,red_card").split(",") if k.strip()
]
PUSH_ALLOW_LOCAL_ENDPOINTS = env_bool("PUSH_ALLOW_LOCAL_ENDPOINTS", DEBUG)  # http, loopback
# Push services a Web Push endpoint may be on (domain suffixes); empty: any public host.
PUSH_ENDPOINT_HOSTS = [
    h.strip()
    for h in env_str(
        "PUSH_ENDPOINT_HOSTS",
        "fcm.googleapis.com,push.services.mozilla.com,push.apple.com,notify.windows.com",
    ).split(",")
    if h.strip()
]

if CHAT_LINKS not in {"none", "allowlist"}:
    raise ImproperlyConfigured("CHAT_LINKS must be none or allowlist")

# Readable lines in the demo, JSON in production (LOG_FORMAT=plain|json); both carry the
# correlation id of the work being logged (core/context.py).
LOG_FORMAT = env_str("LOG_FORMAT", "plain" if DEBUG else "json")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"correlation": {"()": "core.context.CorrelationFilter"}},
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s [%(cid)s] %(message)s"},
        "json": {"()": "core.context.JsonFormatter"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": LOG_FORMAT,
            "filters": ["correlation"],
        }
    },
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}

"""Celery settings: the only place they live (loaded by livescore/celery.py).

Queues are split by latency class so a settlement surge never delays a goal:
  events         provider ingest and match state changes (low latency)
  realtime       socket frames built by tasks (leaderboard tops, fans' points): low latency
  settlement     prediction scoring in chunks (heavy)
  notifications  push messages (slow, retried)
  default        everything else
"""

import os

from kombu import Queue

broker_url = os.environ.get("CELERY_BROKER_URL") or os.environ.get(
    "REDIS_URL", "redis://127.0.0.1:6379/0"
)
# Results are not used for coordination (progress lives in PostgreSQL), so none are stored.
task_ignore_result = True
result_backend = None

task_default_queue = "default"
task_queues = (
    Queue("events"),
    Queue("realtime"),
    Queue("settlement"),
    Queue("notifications"),
    Queue("default"),
)
task_routes = {
    "matches.tasks.*": {"queue": "events"},
    "predictions.tasks.settle_*": {"queue": "settlement"},
    "predictions.tasks.leaderboard_*": {"queue": "settlement"},
    "predictions.tasks.outrights_*": {"queue": "settlement"},
    "predictions.tasks.announce_*": {"queue": "realtime"},
    "predictions.tasks.provisional_*": {"queue": "realtime"},
    "chat.tasks.*": {"queue": "realtime"},
    "social.tasks.*": {"queue": "realtime"},
    "trending.tasks.*": {"queue": "realtime"},
    "notifications.tasks.*": {"queue": "notifications"},
}

task_serializer = "json"
accept_content = ["json"]
timezone = "UTC"
enable_utc = True

# Reliability. A task is acknowledged early by default; the tasks proven idempotent opt in to
# acks_late (re-delivery after a worker dies) on their own decorator, so a crash mid-task
# re-runs only work that is safe to re-run.
task_acks_late = False
task_reject_on_worker_lost = False
# One message at a time per process: a long settlement chunk must not hold a batch of
# prefetched goal events hostage behind it.
worker_prefetch_multiplier = 1
# With the Redis transport an unacknowledged message is re-delivered after this long; it must
# exceed the longest task, or a slow task would be run twice concurrently.
broker_transport_options = {"visibility_timeout": 3600}
broker_connection_retry_on_startup = True
task_time_limit = 300
task_soft_time_limit = 240
worker_max_tasks_per_child = 10000
worker_send_task_events = True  # Flower shows task state from these events.
# Every line carries the correlation id of the work it logs (core/context.py).
worker_log_format = "[%(asctime)s: %(levelname)s/%(processName)s] [%(cid)s] %(message)s"
worker_task_log_format = (
    "[%(asctime)s: %(levelname)s/%(processName)s] [%(cid)s] %(task_name)s[%(task_id)s]: %(message)s"
)
task_send_sent_event = True

beat_schedule_filename = os.path.join(
    os.environ.get("LIVESCORE_VAR_DIR", os.path.join(os.path.dirname(__file__), "var")),
    "celerybeat-schedule",
)
beat_schedule: dict = {
    # Wakes the drain of feed events stored but left pending (a lost wake-up message): the
    # feed's promise that an accepted event is applied within seconds rests on this.
    "feed-reconcile": {"task": "matches.tasks.feed_reconcile_task", "schedule": 2.0},
    # Finishes settlements whose messages were lost (a killed worker, a restarted broker).
    "settlement-reconcile": {"task": "predictions.tasks.settle_reconcile_task", "schedule": 30.0},
    # Persists accepted chat messages in batches: the window a Redis crash can lose
    # (docs/chat.md) is this interval plus Redis's own fsync interval.
    # Releases held notices and re-sends push chunks whose messages were lost.
    "notify-reconcile": {"task": "notifications.tasks.notify_reconcile_task", "schedule": 5.0},
    # Recomputes the trending board of live matches (docs/trending.md).
    "trending": {"task": "trending.tasks.trending_task", "schedule": 5.0},
    # Reminders before the prediction lock, each fan at their own lead time.
    "notify-reminders": {"task": "notifications.tasks.reminders_task", "schedule": 30.0},
    # Writes the reactions counted in Redis to PostgreSQL (docs/social.md).
    "reactions-flush": {
        "task": "social.tasks.reactions_flush_task",
        "schedule": 1.0,
        "options": {"expires": 2},
    },
    # The `rx` frames of the moments whose counts changed, at most once a second.
    "reactions-publish": {
        "task": "social.tasks.reactions_publish_task",
        "schedule": 1.0,
        "options": {"expires": 1},
    },
    "chat-flush": {
        "task": "chat.tasks.chat_flush_task",
        "schedule": 1.0,
        "options": {"expires": 2},
    },
}

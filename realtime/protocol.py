"""The WebSocket protocol's constants: what a client may rely on (limits, rates, liveness,
error codes and close codes). docs/protocol.md documents each of them; keep both in step.
A server's own tuning is gateway/limits.py.
"""

from django.conf import settings

# Limits per connection.
MAX_FRAME_BYTES = 4096  # a client frame larger than this, in UTF-8 bytes, closes (4009)
MAX_SUBSCRIPTIONS = 20
MAX_DELAY_SECONDS = 120  # a match subscription's spoiler delay (`sub` with `delay`)
RATE_PER_SECOND = 10.0  # client frames per second (token bucket) ...
RATE_BURST = 20  # ... with this burst
RATE_STRIKES_BEFORE_CLOSE = 20  # frames refused for rate before the socket is closed
# Liveness the client can see (docs/protocol.md, "Liveness"): a socket written nothing for a
# heartbeat interval gets `{"t":"hb"}`, so a live connection brings something at least every
# two intervals; a client that heard nothing for STALE_AFTER_SECONDS can no longer vouch.
HEARTBEAT_SECONDS = 5.0
STALE_AFTER_SECONDS = 15.0
AUTH_TIMEOUT_SECONDS = 10  # a socket awaiting {"op":"auth"} is closed after this

# Client latency reports (`lat`): pairs per report, and the bounds of their numbers.
MAX_LATENCY_REPORTS = 20
MAX_REPORT_AGE_MS = 600_000
MAX_RTT_MS = 30_000

TIMELINE_LENGTH = 200  # recent frames kept per match for resume with `since`

# Error frame codes: {"t":"err","code":...,"msg":...}; the socket stays open.
ERR_BAD_JSON = "bad_json"
ERR_BAD_FRAME = "bad_frame"
ERR_UNKNOWN_OP = "unknown_op"
ERR_BAD_CHANNEL = "bad_channel"
ERR_UNKNOWN_CHANNEL = "unknown_channel"
ERR_FORBIDDEN = "forbidden"
ERR_TOO_MANY_SUBS = "too_many_subs"
ERR_RATE_LIMITED = "rate_limited"
ERR_BAD_TOKEN = "bad_token"
ERR_UNAVAILABLE = "unavailable"
ERR_NO_MOMENT = "no_moment"
ERR_BANNED = "banned"
# A refused `react` (social/reactions.py's statuses) as an error frame's code.
REACT_REFUSALS = {
    400: ERR_BAD_FRAME,
    403: ERR_BANNED,
    404: ERR_NO_MOMENT,
    429: ERR_RATE_LIMITED,
    503: ERR_UNAVAILABLE,
}
# Chat refusals (docs/chat.md): posts refused for these count as strikes; a socket that
# collects CHAT_STRIKES_BEFORE_CLOSE of them (each accepted post takes one off) is closed 4008.
CHAT_STRIKE_CODES = frozenset(
    {"rate_limited", "slow_mode", "room_busy", "duplicate", "blocked", "link", "muted", "banned"}
)
CHAT_STRIKES_BEFORE_CLOSE = getattr(settings, "CHAT_STRIKES", 10)

# Close codes (4000-4999 are the application's own).
CLOSE_TOO_BIG = 4009  # not 1009: Daphne (autobahn) lets servers close only with 1000 or 3000-4999
CLOSE_UNAUTHORIZED = 4001
CLOSE_ORIGIN = 4003
CLOSE_RATE = 4008
CLOSE_EVICTED = 4010
CLOSE_IDLE = 4011
CLOSE_SLOW = 4012
CLOSE_AUTH_TIMEOUT = 4013
CLOSE_BUSY = 4014  # too many new sockets at once: reconnect after the reason's retry=<ms>
# A frame the server failed on unexpectedly (a defect, logged): the socket is closed and
# released rather than left half-alive; the client reconnects and resumes with `since`.
CLOSE_INTERNAL = 4000

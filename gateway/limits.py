"""The gateway's own tuning: how this server protects itself and its sockets. What a client
may rely on (frame limits, rates, heartbeats, codes) is the protocol's, in
realtime/protocol.py; these are a server's choices, documented in docs/operations.md.
"""

from django.conf import settings

# GATEWAY_SPIKE_PROTECTION=0 switches every spike protection below off at once (admission,
# coalescing, newest-wins, single-flight reads, presence waiting for the score), for
# bench/spike.py's comparison; docs/operations.md, "The goal moment".
SPIKE_PROTECTION = getattr(settings, "GATEWAY_SPIKE_PROTECTION", True)

# What the servers themselves accept (uvicorn --ws-max-size, Daphne's message limit): a
# larger frame is refused by the server with 1009 before the application sees it.
SERVER_MAX_MESSAGE_BYTES = 1024 * 1024

SEND_QUEUE_LIMIT = 64  # frames waiting for a slow socket before it is told to resync
LOW_QUEUE_LIMIT = 4  # best-effort frames (chat batches) waiting; older ones are dropped
# Frames waiting for a socket that fell behind go out as one message, separated by "\n",
# up to this many bytes (0: one frame per message); docs/protocol.md, "Messages".
COALESCE_BYTES = getattr(settings, "GATEWAY_COALESCE_BYTES", 16_384) if SPIKE_PROTECTION else 0
# Frame types of which only the newest waiting one matters (tops, standings, trending): a
# newer one replaces an older one of the same channel still waiting for a slow socket.
LATEST_WINS = frozenset({"lb", "prov", "trend"} if SPIKE_PROTECTION else ())
# Unsequenced frames of the best-effort class, as chat batches: queued behind every
# guaranteed frame, dropped first, held while a score frame goes out, and newest-wins per
# moment (a moment's reactions: the newest counts say everything).
BEST_EFFORT = frozenset({"rx"})

# New sockets admitted per second by one process (gateway/admission.py), and the burst.
HANDSHAKES_PER_SECOND = (
    getattr(settings, "GATEWAY_HANDSHAKES_PER_SECOND", 500) if SPIKE_PROTECTION else 0
)
HANDSHAKE_BURST = getattr(settings, "GATEWAY_HANDSHAKE_BURST", 1000)

IDLE_TIMEOUT_SECONDS = getattr(settings, "WS_IDLE_TIMEOUT", 60)  # silence before close
CLOSE_SEND_SECONDS = 10  # how long a close frame may wait behind a client that stopped reading

# After a score frame, chat batches wait this long: a goal's fan-out to thousands of local
# sockets never shares the CPU with a chat tick (bench/chat.py measured the difference).
SCORE_FIRST_SECONDS = 0.3
# A frame ahead of a gap the timeline cannot fill yet (its predecessor's publish is still on
# the way from another worker) waits this long for it, so every socket gets every frame in
# order; then it goes out anyway and clients resume across the gap with `since`.
HOLD_SECONDS = 0.25
# Client latency reports (`lat`, docs/protocol.md): the frames a report may name, per
# channel, and the latency above which a report describes a resume after an absence.
ARRIVALS_KEPT = 64
CLIENT_LATENCY_MAX = 60.0
# Whether goal and card frames note who saw them, for the notifications pipeline to skip
# their pushes (off when PUSH_SKIP_LIVE_KINDS is empty).
SEEN_LIVE = bool(getattr(settings, "PUSH_SKIP_LIVE_KINDS", ()))

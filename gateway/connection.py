"""One client socket as the gateway's fan-out sees it: an in-order, bounded send queue.

Slow sockets: a send that cannot complete at once is finished in the background while later
frames wait in that socket's bounded queue; a socket whose queue overflows is closed with
CLOSE_SLOW so its client resumes with `since`, and the others never wait for it.

Two classes of frames: the guaranteed class (match, leaderboard, personal frames) and the
best-effort class (chat batches, reactions). A socket that falls behind sends every waiting
guaranteed frame before any chat; chat waiting beyond LOW_QUEUE_LIMIT is dropped, oldest
first, and never closes the socket. A score frame never waits behind queued chat.

Under pressure (the goal moment): frames waiting for a socket go out together, several per
WebSocket message separated by "\n" (limits.COALESCE_BYTES), so a socket that fell
behind catches up in a few writes instead of one per frame; a socket that keeps up still
gets one frame per message, unchanged. Of the frames whose newest one is all that matters
(limits.LATEST_WINS: leaderboard tops, provisional standings, trending) a newer one
replaces an older one of the same channel still waiting, so a slow socket is never sent a
stale top.
"""

from __future__ import annotations

import asyncio
import time
import types
import uuid
from collections import deque
from collections.abc import Callable, Coroutine, Generator
from typing import Any

from core import metrics
from gateway import limits
from realtime import protocol

Send = Callable[[dict[str, Any]], Coroutine[Any, Any, None]]

_background: set[asyncio.Future[Any]] = set()


def spawn(coro: Coroutine[Any, Any, Any]) -> None:
    """Run a coroutine in the background, keeping a reference until it ends (the event
    loop holds only weak references to tasks)."""
    task = asyncio.ensure_future(coro)
    _background.add(task)
    task.add_done_callback(_background.discard)


@types.coroutine
def _resume(coro: Coroutine[Any, Any, Any], pending: Any) -> Generator[Any, Any, Any]:
    """Continue, inside a task, a coroutine that was started by hand and is suspended on
    `pending` (what it yielded). This is what `await` does; it lets the common case (the
    send completes without suspending) run with no task at all."""
    try:
        while True:
            try:
                value = yield pending
            except BaseException as exc:  # noqa: BLE001 - forwarded into the coroutine
                pending = coro.throw(exc)
            else:
                pending = coro.send(value)
    except StopIteration as stop:
        return stop.value


class Connection:
    """One client socket: its send queue, the channels it is on and their last seq."""

    __slots__ = (
        "_close",
        "chat",
        "closed",
        "fresh",
        "id",
        "last_seen",
        "low",
        "queue",
        "reported",
        "send",
        "sending",
        "seqs",
        "syncing",
        "user_id",
    )

    def __init__(
        self, send: Send, close: Callable[[int], Coroutine[Any, Any, None]], user_id: int | None
    ) -> None:
        self.id = uuid.uuid4().hex[:12]
        self.send = send
        self._close = close
        self.user_id = user_id
        self.queue: deque[str] | None = None  # created only for a socket that falls behind
        self.low: deque[str] | None = None  # best-effort frames waiting (chat), likewise
        # chat room channel -> (room id, shard) this socket reads; None until it joins one
        self.chat: dict[str, tuple[int, int]] | None = None
        self.sending = False
        self.closed = False
        # written something since the last heartbeat tick (the hub's heartbeat skips it)
        self.fresh = False
        self.last_seen = time.monotonic()
        # channel name -> last seq written to this socket (dedupe around a resume)
        self.seqs: dict[str, int] = {}
        # channel name -> frames held back while this socket is being brought up to date
        self.syncing: dict[str, list[tuple[int, str]]] = {}
        # match channel -> the last seq this client reported latency for (None until it does)
        self.reported: dict[str, int] | None = None

    def push(
        self, text: str, message: dict[str, Any] | None = None, latest: str | None = None
    ) -> None:
        """Write a frame now if the socket can take it, else queue it (bounded). `message`
        is the ASGI message for `text`, shared by every socket a broadcast reaches (servers
        do not change it), so a broadcast builds it once. `latest`: the frame replaces a
        waiting one that starts the same way (the hub gives its channel and type)."""
        if self.closed:
            return
        self.fresh = True
        if self.sending:
            if self.queue is None:
                self.queue = deque()
            if latest is not None and _replace(self.queue, latest):
                metrics.REPLACED.labels(latest.rsplit('"', 2)[-2]).inc()
            elif len(self.queue) >= limits.SEND_QUEUE_LIMIT:
                self.queue = None
                self.close(protocol.CLOSE_SLOW)
                return
            self.queue.append(text)
            return
        self._start(message or {"type": "websocket.send", "text": text})

    def push_low(
        self, text: str, message: dict[str, Any] | None = None, latest: str | None = None
    ) -> bool:
        """A best-effort frame: written now if the socket is idle, else queued behind every
        guaranteed frame; False if the queue was full and the oldest waiting one dropped.
        `latest`: the frame replaces a waiting one that starts the same way (a moment's
        reactions: gateway/hub.py)."""
        if self.closed:
            return True
        self.fresh = True
        if not self.sending:
            self._start(message or {"type": "websocket.send", "text": text})
            return True
        if self.low is None:
            self.low = deque()
        if latest is not None and _replace(self.low, latest):
            self.low.append(text)
            return True
        kept = len(self.low) < limits.LOW_QUEUE_LIMIT
        if not kept:
            self.low.popleft()
        self.low.append(text)
        return kept

    def _start(self, message: dict[str, Any]) -> None:
        coro = self.send(message)
        try:
            pending = coro.send(None)
        except StopIteration:
            return  # written without suspending: the common case
        except Exception:  # noqa: BLE001 - a dead socket; its disconnect cleans up
            self.closed = True
            return
        self.sending = True
        spawn(self._finish(coro, pending))

    async def _finish(self, coro: Coroutine[Any, Any, Any], pending: Any) -> None:
        try:
            await _resume(coro, pending)
        except Exception:  # noqa: BLE001
            self.closed = True
            return
        finally:
            self.sending = False
        while not self.sending and not self.closed:
            waiting = self.queue or self.low  # guaranteed frames first
            if not waiting:
                break
            self._start({"type": "websocket.send", "text": _take(waiting)})
        if not self.queue:
            self.queue = None
        if not self.low:
            self.low = None

    def deliver(
        self,
        channel: str,
        seq: int,
        text: str,
        message: dict[str, Any] | None = None,
        latest: str | None = None,
    ) -> None:
        """Deliver a channel frame once, in order (frames without seq pass through)."""
        if self.syncing:
            held = self.syncing.get(channel)
            if held is not None:
                held.append((seq, text))
                return
        if seq:
            if seq <= self.seqs.get(channel, 0):
                return
            self.seqs[channel] = seq
        self.push(text, message, latest)

    def close(self, code: int) -> None:
        if self.closed:
            return
        self.closed = True
        metrics.CLOSES.labels(str(code)).inc()
        spawn(self._close(code))


def _take(waiting: deque[str]) -> str:
    """The next message for a socket that fell behind: its oldest waiting frame, with the
    ones after it while they fit in limits.COALESCE_BYTES, separated by "\n" (a frame is
    compact JSON, which never contains a raw newline)."""
    text = waiting.popleft()
    if not waiting or len(text) + 1 + len(waiting[0]) > limits.COALESCE_BYTES:
        return text
    parts, size = [text], len(text)
    while waiting and size + 1 + len(waiting[0]) <= limits.COALESCE_BYTES:
        parts.append(waiting.popleft())
        size += 1 + len(parts[-1])
    metrics.COALESCED.inc(len(parts))
    return "\n".join(parts)


def latest_front(channel: str, t: str) -> str | None:
    """For a frame of which only the newest waiting one matters (limits.LATEST_WINS): the
    front its waiting predecessors of the same channel and type start with (frames start
    with their channel and type: realtime/frames.py); None for every other frame."""
    return f'{{"ch":"{channel}","t":"{t}"' if t in limits.LATEST_WINS else None


def moment_front(text: str) -> str:
    """The front a moment's `rx` frames share, up to the moment's seq: `{"ch":...,"t":"rx",
    "d":{"m":12,` (realtime/frames.py puts `m` first), so a newer one replaces it."""
    start = text.find('"m":')
    end = text.find(",", start)
    return text[: end + 1] if start >= 0 and end >= 0 else text


def _replace(queue: deque[str], front: str) -> bool:
    """Drop the waiting frame that starts with `front` (the same channel and type); True if
    there was one."""
    for index, waiting in enumerate(queue):
        if waiting.startswith(front):
            del queue[index]
            return True
    return False

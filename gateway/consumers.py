"""The WebSocket endpoint `/ws/`: one socket per client, many channels on it.

A dispatcher: each client op (`auth`, `sub`, `unsub`, `ping`, `say`, `react`, `lat`) has one
handler;
the consumer parses frames and enforces the per-connection rules, delivery is the hub's job.
`sub` and `unsub`, with what brings a socket up to date, are in gateway/subscriptions.py.
Every op, frame, error and close code is documented in docs/protocol.md.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any, ClassVar
from urllib.parse import parse_qs

from channels.consumer import get_handler_name
from channels.generic.websocket import AsyncWebsocketConsumer

import chat.sockets as chat
import social.sockets as social
from core import metrics
from core.errors import UNAVAILABLE, store_of
from gateway import auth, limits
from gateway.connection import Connection
from gateway.hub import Hub, get_hub
from gateway.subscriptions import ClientFrame, Subscriptions, is_int
from realtime import protocol as P
from realtime.frames import clock_text, error_text, reply_text

logger = logging.getLogger("livescore.realtime")


def _latency_report(frame: ClientFrame) -> tuple[list[list[int]], int] | None:
    """`d` and `rtt` of a `lat` op, or None when they are not `[seq, age ms]` integer pairs
    and a round trip in ms, within bounds."""
    pairs, rtt = frame.get("d"), frame.get("rtt")
    if not is_int(rtt) or not 0 <= rtt <= P.MAX_RTT_MS:
        return None
    if not isinstance(pairs, list) or not 0 < len(pairs) <= P.MAX_LATENCY_REPORTS:
        return None
    for pair in pairs:
        if not (isinstance(pair, list) and len(pair) == 2 and all(is_int(n) for n in pair)):
            return None
        if not (0 < pair[0] < 2**53 and 0 <= pair[1] <= P.MAX_REPORT_AGE_MS):
            return None
    return pairs, rtt


def frame_bytes(raw: str | bytes) -> int:
    """A frame's size in UTF-8 bytes (the limit is in bytes; a character is up to 4)."""
    if isinstance(raw, bytes):
        return len(raw)
    # Only long frames need encoding: below a quarter of the limit no text can exceed it.
    return len(raw) if len(raw) <= P.MAX_FRAME_BYTES // 4 else len(raw.encode())


class GatewayConsumer(Subscriptions, AsyncWebsocketConsumer):
    # Broadcasts arrive through the process hub, not the channel layer: without a layer a
    # consumer costs no per-socket channel name and no pending channel-layer receive.
    channel_layer_alias = "__no_layer__"

    hub: Hub
    conn: Connection  # set once the socket is accepted; handlers only run after that
    user_id: int | None = None
    device: str = ""
    _released = True  # until accepted there is nothing to release
    _auth_timer: asyncio.TimerHandle | None = None

    # op -> handler method. Names, not bound methods: a per-socket dict of bound methods
    # cost ~0.7 KiB per idle socket (bench/fanout.py).
    OPS: ClassVar[dict[str, str]] = {
        "auth": "on_auth",
        "sub": "on_sub",
        "unsub": "on_unsub",
        "ping": "on_ping",
        "say": "on_say",
        "react": "on_react",
        "lat": "on_lat",
    }

    # ---- lifecycle ------------------------------------------------------------------------

    async def connect(self) -> None:
        query = parse_qs(self.scope.get("query_string", b"").decode())
        origin = auth.header(self.scope, b"origin")
        if origin is not None and not auth.origin_allowed(origin, auth.header(self.scope, b"host")):
            await self.close(code=P.CLOSE_ORIGIN)  # refused at the handshake (HTTP 403)
            return
        self.device = (query.get("device") or [""])[0][:64]
        token = (query.get("token") or [""])[0]
        self.hub = await get_hub()
        if (retry_ms := self.hub.admission.admit()) is not None:
            # A reconnect storm: turned away at once, with when to come back. Accepted first
            # so the client sees the code and the hint (a refused handshake is a bare 403).
            await self.accept()
            await self.close(code=P.CLOSE_BUSY, reason=f"retry={retry_ms}")
            return
        await self.accept()
        self.conn = Connection(self.base_send, self._close_with, None)
        self._released = False
        self.hub.add(self.conn)
        self._tokens, self._refill, self._strikes = float(P.RATE_BURST), time.monotonic(), 0
        self._chat_strikes = 0
        if token:
            await self._authenticate(token)
        elif origin is None:
            # Native clients have no Origin to vouch for them: they must prove a token first.
            self._auth_timer = asyncio.get_running_loop().call_later(
                P.AUTH_TIMEOUT_SECONDS, self._auth_expired
            )

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        # The socket leaves the hub whatever ends this consumer: a handler that raised, a
        # cancelled task, a server that never delivered websocket.disconnect.
        try:
            await super().__call__(scope, receive, send)
        finally:
            await self._release()

    async def dispatch(self, message: dict[str, Any]) -> None:
        # Channels' own dispatch runs close_old_connections() in a worker thread before every
        # message: a thread hop per client frame, about a sixth of a gateway's CPU under a
        # chat flood (bench/chat.py, py-spy). This consumer never touches the database on
        # the event loop; its database calls go through database_sync_to_async, which
        # closes stale connections around each call itself.
        handler = getattr(self, get_handler_name(message), None)
        if handler is None:
            raise ValueError(f"no handler for message type {message['type']}")
        await handler(message)

    async def disconnect(self, code: int) -> None:
        await self._release()

    async def _release(self) -> None:
        if self._released:
            return
        self._released = True
        self.conn.closed = True
        self.hub.remove(self.conn)
        if self._auth_timer is not None:
            self._auth_timer.cancel()
        if self.user_id and self.device:
            try:
                await self.hub.release_session(self.conn, self.user_id, self.device)
            except Exception:  # noqa: BLE001 - Redis away: the session key expires by itself
                logger.warning("session not released user=%s", self.user_id)

    async def _close_with(self, code: int) -> None:
        # Released first: a client that stopped reading never lets the close frame out (the
        # server's send waits for its buffer to drain), and must not stay in the hub.
        await self._release()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(
                self.base_send({"type": "websocket.close", "code": code}), limits.CLOSE_SEND_SECONDS
            )

    def _send(self, text: str) -> None:
        self.conn.push(text)

    def _error(self, code: str, message: str, **extra: Any) -> None:
        self._send(error_text(code, message, **extra))

    # ---- client frames --------------------------------------------------------------------

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        if self._released or self.conn.closed:
            return
        self.conn.last_seen = time.monotonic()
        raw = text_data if text_data is not None else bytes_data or b""
        if frame_bytes(raw) > P.MAX_FRAME_BYTES:
            self.conn.close(P.CLOSE_TOO_BIG)
            return
        if not self._take_token():
            return
        frame = self._parse(raw)
        if frame is None:
            return
        try:
            await self._dispatch(frame)
        except UNAVAILABLE as exc:
            # PostgreSQL or Redis is down or paused: the client retries the op later.
            metrics.STORE_ERRORS.labels(store_of(exc)).inc()
            self._error(P.ERR_UNAVAILABLE, "temporarily unavailable; retry shortly")
        except Exception:
            # A defect, not the client's fault: log it and close this socket cleanly (its
            # hub entry is released), never crash with the socket half-open.
            logger.exception("gateway failed on a frame op=%.20r", frame.get("op"))
            self.conn.close(P.CLOSE_INTERNAL)

    def _parse(self, raw: str | bytes) -> ClientFrame | None:
        try:
            frame = json.loads(raw)
        except RecursionError:
            self._error(P.ERR_BAD_FRAME, "frame is nested too deeply")
            return None
        except ValueError:
            self._error(P.ERR_BAD_JSON, "frame is not JSON")
            return None
        if not isinstance(frame, dict):
            self._error(P.ERR_BAD_FRAME, "frame must be a JSON object")
            return None
        return frame

    def _take_token(self) -> bool:
        """Token bucket: RATE_PER_SECOND with RATE_BURST; persistent abuse closes."""
        now = time.monotonic()
        self._tokens = min(P.RATE_BURST, self._tokens + (now - self._refill) * P.RATE_PER_SECOND)
        self._refill = now
        if self._tokens >= 1:
            self._tokens -= 1
            return True
        self._strikes += 1
        if self._strikes >= P.RATE_STRIKES_BEFORE_CLOSE:
            self.conn.close(P.CLOSE_RATE)
        else:
            self._error(P.ERR_RATE_LIMITED, f"at most {P.RATE_PER_SECOND:g} frames per second")
        return False

    async def _dispatch(self, frame: ClientFrame) -> None:
        op = frame.get("op")
        if not isinstance(op, str):
            self._error(P.ERR_BAD_FRAME, "op must be a string")
            return
        if self._auth_timer is not None and op != "auth":
            cid = frame.get("cid") if op in ("say", "react") else None
            extra = {"cid": cid} if isinstance(cid, str) and len(cid) <= 64 else {}
            self._error(P.ERR_FORBIDDEN, 'authenticate first: {"op":"auth","token":...}', **extra)
            return
        name = self.OPS.get(op)
        if name is None:
            self._error(P.ERR_UNKNOWN_OP, f"unknown op {op[:20]!r}")
            return
        handler: Callable[[ClientFrame], Awaitable[None]] = getattr(self, name)
        await handler(frame)

    # ---- ops ------------------------------------------------------------------------------

    async def on_ping(self, frame: ClientFrame) -> None:
        self._send(clock_text("pong"))

    async def on_lat(self, frame: ClientFrame) -> None:
        channel = self._channel(frame)
        if channel is None:
            return
        report = _latency_report(frame)
        if channel.kind != "match":
            self._error(P.ERR_BAD_CHANNEL, "lat is for match channels", ch=channel.name)
        elif report is None:
            self._error(
                P.ERR_BAD_FRAME,
                f"d: at most {P.MAX_LATENCY_REPORTS} [seq, age ms] pairs; rtt: ms up to "
                f"{P.MAX_RTT_MS}",
                ch=channel.name,
            )
        else:  # no answer: reports are best effort and cost the client nothing to send
            self.hub.client_latency(self.conn, channel.name, *report)

    async def on_auth(self, frame: ClientFrame) -> None:
        token = frame.get("token")
        if not isinstance(token, str):
            self._error(P.ERR_BAD_FRAME, "token must be a string")
            return
        await self._authenticate(token)

    async def on_say(self, frame: ClientFrame) -> None:
        channel = self._channel(frame)
        if channel is None:
            return
        cid = frame.get("cid")
        # Every refusal of a `say` names its cid: clients match refusals to messages by it.
        if channel.kind != "chat":
            wrong = chat.Refused(P.ERR_BAD_CHANNEL, "say is for chat:room:<id> channels")
            self._chat_refused(channel.name, wrong, cid)
            return
        if self.user_id is None:
            self._chat_refused(channel.name, chat.Refused(P.ERR_FORBIDDEN, "sign in to chat"), cid)
            return
        refused = chat.check_cid(cid)
        if refused is None:
            assert isinstance(cid, str)
            shard = (self.conn.chat or {}).get(channel.name, (0, -1))[1]
            answer = await chat.say(
                self.hub.chat.scripts,
                user_id=self.user_id,
                room_id=int(channel.key),
                text=frame.get("text"),
                cid=cid,
                shard=shard,
            )
            if isinstance(answer, chat.Ack):
                self._chat_strikes = max(0, self._chat_strikes - 1)
                data = {
                    "cid": cid,
                    "id": answer.id,
                    "ts": answer.ts,
                    **({"again": 1} if answer.again else {}),
                }
                self._send(reply_text(ch=channel.name, t="ack", d=data))
                return
            refused = answer
        self._chat_refused(channel.name, refused, cid)

    async def on_react(self, frame: ClientFrame) -> None:
        channel = self._channel(frame)
        if channel is None:
            return
        cid, seq = frame.get("cid"), frame.get("seq")
        # Like `say`: every answer and refusal names the cid.
        if channel.kind != "match":
            self._react_refused(channel.name, cid, P.ERR_BAD_CHANNEL, "react is for match channels")
        elif self.user_id is None:
            self._react_refused(channel.name, cid, P.ERR_FORBIDDEN, "sign in to react")
        elif (refused := chat.check_cid(cid)) is not None:
            self._react_refused(channel.name, cid, refused.code, refused.message)
        elif not is_int(seq) or not 0 < seq < 2**53:
            self._react_refused(channel.name, cid, P.ERR_BAD_FRAME, "seq: the moment's seq")
        else:
            await self._react(channel.name, channel.key, cid, seq, frame.get("kind"))

    async def _react(self, name: str, slug: str, cid: object, seq: int, kind: object) -> None:
        assert self.user_id is not None
        try:
            moment = await social.react(
                self.hub.redis, self.hub.chat.scripts,
                user_id=self.user_id, slug=slug, seq=seq, kind=kind,
            )  # fmt: skip
        except social.ReactionError as refused:
            code = P.REACT_REFUSALS.get(refused.status, P.ERR_BAD_FRAME)
            wait = {"wait": refused.retry_after} if refused.retry_after else {}
            self._react_refused(name, cid, code, str(refused), **wait)
            return
        except UNAVAILABLE:
            self._react_refused(name, cid, P.ERR_UNAVAILABLE, "reactions are unavailable; retry")
            return
        data = {"cid": cid, "m": seq, "c": moment.counts}
        if moment.mine:
            data["mine"] = moment.mine
        self._send(reply_text(ch=name, t="ack", d=data))

    def _react_refused(
        self, name: str, cid: object, code: str, message: str, **extra: object
    ) -> None:
        if isinstance(cid, str) and len(cid) <= 64:
            extra["cid"] = cid
        self._error(code, message, ch=name, **extra)

    def _chat_refused(self, name: str, refused: chat.Refused, cid: object) -> None:
        extra = {"ch": name, **refused.extra()}
        if isinstance(cid, str) and len(cid) <= 64:
            extra["cid"] = cid
        self._error(refused.code, refused.message, **extra)
        if refused.code in P.CHAT_STRIKE_CODES:
            self._chat_strikes += 1
            if self._chat_strikes >= P.CHAT_STRIKES_BEFORE_CLOSE:
                self.conn.close(P.CLOSE_RATE)

    # ---- authentication -------------------------------------------------------------------

    def _auth_expired(self) -> None:
        if not self._released and self.user_id is None:
            self.conn.close(P.CLOSE_AUTH_TIMEOUT)

    async def _authenticate(self, token: str) -> None:
        try:
            user_id = await auth.user_for_token(token)
        except UNAVAILABLE:
            self._error(P.ERR_UNAVAILABLE, "cannot check the token now; send auth again")
            return
        if user_id is None:
            self._error(P.ERR_BAD_TOKEN, "invalid token")
            self.conn.close(P.CLOSE_UNAUTHORIZED)
            return
        if self._auth_timer is not None:
            self._auth_timer.cancel()
            self._auth_timer = None
        self.user_id = self.conn.user_id = user_id
        self._send(reply_text(t="auth", uid=user_id))
        if self.device:
            await self.hub.claim_session(self.conn, user_id, self.device)

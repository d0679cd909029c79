"""The content filters a message passes after cleaning: the blocklist and the link policy.
(Rate limits, slow mode and duplicates need shared state and run in Redis: chat/live.py.)

Both lists are edited in admin and compiled once per process into a `Filters`, reloaded
every RELOAD_SECONDS, so an edit applies everywhere within that time without a restart.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field

import ada_url

from chat import text as chat_text
from chat.models import AllowedDomain, BlockedTerm

RELOAD_SECONDS = 10.0

# A link: a scheme, "www.", or a host name ending in a top-level domain. NFKC has already
# folded full-width dots and letters; a bare name needs a TLD of letters after a dot.
_LINK = re.compile(
    r"(?:[a-z][a-z0-9+.-]*://|www\.)[^\s]+"
    r"|\b(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,24}\b(?:/[^\s]*)?",
    re.IGNORECASE,
)
# Dotted words that are not links: abbreviations and numbers ("e.g", "3.5", "u.s.a").
_NOT_A_TLD = frozenset({"eg", "ie", "etc", "vs", "am", "pm"})


@dataclass(frozen=True)
class Refusal:
    code: str  # the error frame code: blocked, link
    message: str
    detail: dict[str, str] = field(default_factory=dict)  # for the audit row


@dataclass(frozen=True)
class Filters:
    words: frozenset[str]  # folded; may contain spaces (a phrase)
    substrings: tuple[str, ...]  # squashed
    patterns: tuple[re.Pattern[str], ...]
    domains: frozenset[str]
    links_allowed: bool

    def check(self, text: str) -> Refusal | None:
        """None if `text` (already cleaned) passes every filter."""
        return self._blocklist(text) or self._links(text)

    def _blocklist(self, text: str) -> Refusal | None:
        folded = chat_text.fold(text)
        padded = f" {folded} "
        squashed = chat_text.squash(folded)
        hit = (
            next((w for w in self.words if f" {w} " in padded), None)
            or next((s for s in self.substrings if s in squashed), None)
            or next((p.pattern for p in self.patterns if p.search(text) or p.search(folded)), None)
        )
        if hit is None:
            return None
        return Refusal("blocked", "the message contains a blocked word", {"term": hit})

    def _links(self, text: str) -> Refusal | None:
        for found in _LINK.finditer(text):
            host = _host(found.group(0))
            if host is None:
                continue
            if not self.links_allowed or not self._allowed(host):
                message = (
                    "links are not allowed here"
                    if not self.links_allowed
                    else (f"links to {host} are not allowed")
                )
                return Refusal("link", message, {"host": host})
        return None

    def _allowed(self, host: str) -> bool:
        return any(host == d or host.endswith("." + d) for d in self.domains)


def _host(link: str) -> str | None:
    """The host a browser would go to for `link`, by the WHATWG URL rules (a backslash is a
    slash, userinfo is not the host, percent-escapes and IDNA are decoded), else None."""
    try:
        parsed = ada_url.URL(link if "://" in link else f"http://{link}")
    except ValueError:
        # Not a URL a browser would open, but with a scheme it still looks like one: refused
        # (no allowed domain matches a host marked invalid).
        if "://" not in link:
            return None
        return f"{link.split('://', 1)[1].split('/', 1)[0].lower()} (not a valid URL)"
    host = parsed.hostname.lower().rstrip(".")
    if not host:
        return None
    labels = host.split(".")
    if (
        "://" not in link
        and not host.startswith("www.")
        and (labels[-1] in _NOT_A_TLD or all(len(label) == 1 for label in labels))
    ):
        return None  # "e.g", "u.s.a": not a host
    return host


def compile_filters(terms: list[tuple[str, str]], domains: list[str], links: bool) -> Filters:
    words, substrings, patterns = set(), [], []
    for term, kind in terms:
        if kind == BlockedTerm.Kind.PATTERN:
            patterns.append(re.compile(term, re.IGNORECASE))
            continue
        folded = chat_text.fold(term)
        if not folded:
            continue
        if kind == BlockedTerm.Kind.SUBSTRING:
            substrings.append(chat_text.squash(folded))
        else:
            words.add(folded)
    return Filters(
        words=frozenset(words),
        substrings=tuple(substrings),
        patterns=tuple(patterns),
        domains=frozenset(d.lower().strip(".") for d in domains),
        links_allowed=links,
    )


def load() -> Filters:
    """The filters as stored now (a database read)."""
    from django.conf import settings

    terms = list(BlockedTerm.objects.filter(active=True).values_list("term", "kind"))
    domains = list(AllowedDomain.objects.values_list("domain", flat=True))
    return compile_filters(terms, domains, settings.CHAT_LINKS == "allowlist")


_cached: tuple[float, Filters] | None = None


def cached() -> Filters | None:
    """This process's filters if loaded within RELOAD_SECONDS, else None (call `current`)."""
    if _cached is not None and _cached[0] > time.monotonic():
        return _cached[1]
    return None


def current() -> Filters:
    global _cached
    filters = cached()
    if filters is None:
        filters = load()
        _cached = (time.monotonic() + RELOAD_SECONDS, filters)
    return filters


def forget() -> None:
    """Drop this process's copy (tests, and admin saves in the web process)."""
    global _cached
    _cached = None

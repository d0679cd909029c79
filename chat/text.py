"""Chat text: what a message may contain, and the folded form the filters match against.

`clean` is what is stored and sent: NFKC-normalised, without control, format (zero-width,
bidi override), surrogate, private-use or unassigned characters, whitespace collapsed to
single spaces, at most MAX_CHARS characters. It stays plain text: it is escaped wherever
HTML shows it (Django admin and the web client escape by default).

`fold` is never shown: it maps a cleaned text to a skeleton that evasions cannot hide from.
Case is folded, accents dropped, homoglyphs (Cyrillic and Greek look-alikes NFKC keeps) and
l33t digits mapped to Latin letters, and runs of single characters ("f u c k", "f.u.c.k")
joined, so the blocklist sees the same word however it was spelled.
"""

from __future__ import annotations

import re
import unicodedata

MAX_CHARS = 280
# Categories removed from a message: Cc control, Cf format (zero-width spaces and joiners,
# bidi embeddings, overrides and isolates, BOM), Cs lone surrogates, Co private use,
# Cn unassigned.
_DROPPED = frozenset({"Cc", "Cf", "Cs", "Co", "Cn"})
_SPACES = re.compile(r"\s+")


class TextRefused(ValueError):
    """A message the rules refuse before any filter: `code` is the error frame code."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


def clean(raw: str) -> str:
    text = unicodedata.normalize("NFKC", raw)
    text = "".join(ch for ch in text if unicodedata.category(ch) not in _DROPPED or ch in "\t\n")
    text = _SPACES.sub(" ", text).strip()
    if not text:
        raise TextRefused("empty", "the message is empty")
    if len(text) > MAX_CHARS:
        raise TextRefused("too_long", f"at most {MAX_CHARS} characters")
    return text


# Look-alikes NFKC does not fold (they are letters of other scripts) and l33t spellings.
# Ambiguous digits map to one letter each (1 -> i, and l -> i as well) so that a term and a
# message folded the same way still meet.
_CONFUSABLES = str.maketrans(
    {
        # Cyrillic and Greek letters that look Latin (escaped: they look Latin here too)
        "\u0430": "a", "\u0432": "b", "\u0435": "e", "\u0451": "e", "\u043a": "k", "\u043c": "m",
        "\u043d": "h", "\u043e": "o", "\u0440": "p", "\u0441": "c", "\u0442": "t", "\u0443": "y",
        "\u0445": "x", "\u0456": "i", "\u0458": "j", "\u0455": "s", "\u03b1": "a", "\u03b2": "b",
        "\u03b5": "e", "\u03b7": "n", "\u03b9": "i", "\u03ba": "k", "\u03bd": "v", "\u03bf": "o",
        "\u03c1": "p", "\u03c4": "t", "\u03c5": "u", "\u03c7": "x",
        # l33t
        "0": "o", "1": "i", "l": "i", "!": "i", "|": "i", "3": "e", "4": "a", "@": "a",
        "5": "s", "$": "s", "7": "t", "+": "t", "8": "b", "9": "g", "\u20ac": "e", "\u00df": "ss",
    }
)  # fmt: skip
_NON_WORD = re.compile(r"[^a-z]+")


def fold(text: str) -> str:
    """The skeleton filters match: lowercase Latin letters in words separated by one space."""
    text = unicodedata.normalize("NFKD", text.casefold())
    text = "".join(ch for ch in text if not unicodedata.combining(ch))
    text = text.translate(_CONFUSABLES)
    words = [w for w in _NON_WORD.sub(" ", text).split(" ") if w]
    return " ".join(_join_spelled_out(words))


def _join_spelled_out(words: list[str]) -> list[str]:
    """ "f u c k" -> "fuck": a run of two or more one-letter words is one word."""
    out: list[str] = []
    run: list[str] = []
    for word in [*words, ""]:
        if len(word) == 1:
            run.append(word)
            continue
        if run:
            out.extend(["".join(run)] if len(run) > 1 else run)
            run = []
        if word:
            out.append(word)
    return out


def squash(folded: str) -> str:
    """The folded text without spaces, for terms that must match inside words too."""
    return folded.replace(" ", "")

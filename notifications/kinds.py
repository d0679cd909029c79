"""What a fan can be pushed about, and how each kind travels (docs/notifications.md).

A follow stores the kinds it wants as a bit mask, so a chunk of 5,000 followers is selected
with one indexed query (`kinds & bit <> 0`) rather than a row per preference.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Kind:
    name: str
    bit: int
    ttl: int  # seconds a push service keeps it for an offline device; older is worthless
    urgency: str  # Web Push Urgency: very-low, low, normal, high
    label: str


KINDS: dict[str, Kind] = {
    k.name: k
    for k in (
        Kind("kickoff", 1, 600, "normal", "Kick-off"),
        Kind("goal", 2, 300, "high", "Goals"),
        Kind("red_card", 4, 300, "high", "Red cards"),
        Kind("half_time", 8, 600, "normal", "Half time"),
        Kind("full_time", 16, 3600, "normal", "Full time"),
        Kind("var", 32, 3600, "high", "VAR decisions"),
        Kind("points", 64, 86400, "normal", "Your points and rank after a match"),
        Kind("reminder", 128, 3600, "normal", "Reminder before predictions lock"),
    )
}
ALL_BITS = sum(k.bit for k in KINDS.values())
# Digests merge pushes over a fan's cap; they travel like goals.
DIGEST = Kind("digest", 0, 300, "high", "Digest")


def bits_of(names: list[str]) -> int:
    return sum(KINDS[name].bit for name in set(names))


def names_of(bits: int) -> list[str]:
    return [k.name for k in KINDS.values() if bits & k.bit]


def kind(name: str) -> Kind:
    return DIGEST if name == DIGEST.name else KINDS[name]

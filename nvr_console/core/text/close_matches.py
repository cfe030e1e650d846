"""Suggest a known name ("did you mean ...?") only when it is close: a typo, not any name of a similar shape.

difflib alone scores `NVR_FOO_BAR` against `NVR_LOG_DIR` at 0.64 (the shared `NVR_` and underscores), above its
usual 0.6 cutoff. So the parts of both names up to their last common separator (`NVR_`, `upload.`, `A-`) are set
aside first, and only what differs after them is compared.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable

SEPARATORS = "._- "
CUTOFF = 0.6


def _after_common_part(word: str, candidate: str) -> tuple[str, str]:
    same = next((i for i, (a, b) in enumerate(zip(word, candidate, strict=False)) if a != b),
                min(len(word), len(candidate)))
    cut = max(word.rfind(sep, 0, same) for sep in SEPARATORS) + 1
    return word[cut:], candidate[cut:]


def similarity(word: str, candidate: str) -> float:
    """0..1: how alike the two names are once their common leading part is set aside (case ignored)."""
    a, b = _after_common_part(word.lower(), candidate.lower())
    if not a and not b:
        return 1.0
    return difflib.SequenceMatcher(None, a, b).ratio()


def close_matches(word: str, candidates: Iterable[str], n: int = 1, cutoff: float = CUTOFF) -> list[str]:
    """Up to `n` candidates close to `word`, the closest first; [] when none is close enough to be a typo."""
    scored = sorted(((similarity(word, c), c) for c in candidates), key=lambda sc: -sc[0])
    return [c for score, c in scored if score >= cutoff][:n]

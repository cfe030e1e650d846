"""'Did you mean' only for a typo of a known name, not for any name of the same shape."""

from __future__ import annotations

import pytest

from nvr_console.core.config import OPTIONS_BY_ENV, OPTIONS_BY_NAME
from nvr_console.core.text.close_matches import close_matches


@pytest.mark.parametrize(("word", "expected"), [
    ("NVR_FOO_BAR", []),  # difflib alone says NVR_LOG_DIR (0.64): the shared NVR_ is set aside first
    ("NVR_BOGUS", []),
    ("NVR_UPLOAD_WORKER", ["NVR_UPLOAD_WORKERS"]),
    ("NVR_LOG_LVL", ["NVR_LOG_LEVEL"]),
    ("NVR_RECORDNG_DIR", ["NVR_RECORDING_DIR"]),
    ("NVR_DATABASE", ["NVR_DATABASE_URL"]),
])
def test_environment_names(word: str, expected: list[str]) -> None:
    assert close_matches(word, OPTIONS_BY_ENV) == expected


@pytest.mark.parametrize(("word", "expected"), [
    ("upload.bogus", []),
    ("upload.workerz", ["upload.workers"]),
    ("recording.segmnet_length", ["recording.segment_length"]),
    ("recordings.dir", ["recording.dir"]),
])
def test_setting_names(word: str, expected: list[str]) -> None:
    assert close_matches(word, OPTIONS_BY_NAME) == expected


def test_room_and_camera_names() -> None:
    assert close_matches("A-10", ["A-101", "B-202"]) == ["A-101"]
    assert close_matches("a-101", ["A-101"]) == ["A-101"]  # case does not count
    assert close_matches("ghost", ["front", "back"]) == []
    assert close_matches("front-cam", ["front-door"]) == []  # the same first word is no typo
    assert close_matches("frnot", ["front", "back", "fronts"], n=2) == ["front", "fronts"]

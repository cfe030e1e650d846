"""The README is part of the interface: its commands and configuration reference must stay true."""

from pathlib import Path

from nvr_console.core.config import OPTIONS

README = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")


def test_readme_starts_with_the_two_commands() -> None:
    first_block = README.split("```", 2)[1]
    assert "scripts/run" in first_block and "scripts/test" in first_block
    ci = (Path(__file__).resolve().parents[1] / ".ci" / "run").read_text()
    assert "scripts/test" in ci


def test_every_setting_is_documented() -> None:
    for o in OPTIONS:
        assert f"`{o.name}`" in README and f"`{o.env}`" in README, o.name

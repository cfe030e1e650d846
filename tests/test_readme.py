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


def test_the_readme_says_how_its_bare_commands_run_from_a_checkout(tmp_path: Path) -> None:
    """Issue 17: after `scripts/run`, `nvr-console` is not on PATH though every command below uses the bare
    name. Where the commands start the README says how, and what it says works (this venv's activate script,
    as scripts/run and scripts/test make it)."""
    import os
    import subprocess
    import sys

    section = README.split("## Command line", 1)[1]
    before_first_command = section.split("```", 1)[0]
    assert "source .venv/bin/activate" in before_first_command and ".venv/bin/nvr-console" in before_first_command
    activate = Path(sys.executable).parent / "activate"
    env = {k: v for k, v in os.environ.items() if k != "VIRTUAL_ENV"}
    env["PATH"] = "/usr/bin:/bin"  # a new shell: no venv on PATH
    got = subprocess.run(["bash", "-c", f"source {activate} && nvr-console --version"], capture_output=True,
                         text=True, timeout=60, env=env, cwd=tmp_path, check=False)
    assert got.returncode == 0 and got.stdout.startswith("nvr-console"), (got.stdout, got.stderr)

"""A bad setting or file stops ``sdbot run`` at once with one line naming it."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from bot.cli.main import main


@pytest.mark.parametrize(
    ("name", "value", "needle"),
    [
        ("DEFAULT_LOCALE", "xx", "DEFAULT_LOCALE"),
        ("TIMEZONE", "Mars/Base", "TIMEZONE"),
        ("DATABASE_URL", "mysql://db", "DATABASE_URL"),
        ("MAX_CONCURRENT_UPDATES", "0", "MAX_CONCURRENT_UPDATES"),
        ("POLICY_FILE", "/nonexistent/policy.toml", "POLICY_FILE"),
        ("LOG_LEVEL", "verbose", "LOG_LEVEL"),
    ],
)
def test_invalid_setting_names_the_setting(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], name: str, value: str, needle: str
) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(SystemExit) as exc:
        main(["run"])
    assert exc.value.code == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and needle in err


def test_invalid_policy_file_names_file_and_key(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    from bot.rules.policy import DEFAULT_POLICY

    text = DEFAULT_POLICY.read_text(encoding="utf-8")
    broken, count = re.subn(r"(?m)^ack_timeout_minutes = .*$", 'ack_timeout_minutes = "soon"', text)
    assert count == 1
    bad = tmp_path / "policy.toml"
    bad.write_text(broken, encoding="utf-8")
    monkeypatch.setenv("POLICY_FILE", str(bad))
    with pytest.raises(SystemExit) as exc:
        main(["run"])
    assert exc.value.code == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    assert str(bad) in err and "dispatch.ack_timeout_minutes" in err


def test_log_level_and_postgres_url_spellings(monkeypatch: pytest.MonkeyPatch) -> None:
    from bot.config import load_settings

    monkeypatch.setenv("LOG_LEVEL", " debug ")
    monkeypatch.setenv("DATABASE_URL", "postgresql://desk:pw@127.0.0.1:5432/desk")
    settings = load_settings()
    assert settings.log_level == "DEBUG"
    assert settings.database_url == "postgresql+asyncpg://desk:pw@127.0.0.1:5432/desk"
    monkeypatch.setenv("DATABASE_URL", "postgres://desk@db/desk")
    assert load_settings().database_url == "postgresql+asyncpg://desk@db/desk"


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    from importlib.metadata import version

    with pytest.raises(SystemExit) as exc:
        main(["--version"])
    assert exc.value.code == 0
    assert capsys.readouterr().out.strip() == f"sdbot {version('servicedesk-bot')}"

"""``sdbot ask``: one question, --batch (file and stdin), --json shape, bad arguments → exit 2."""

from __future__ import annotations

import io
import json
import shutil
from pathlib import Path

import pytest

from bot.cli.main import main


def ask(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, list[str], str]:
    code = main(["ask", *argv])
    out = capsys.readouterr()
    return code, [line for line in out.out.splitlines() if line.strip()], out.err


def test_json_shape_and_unknown(capsys: pytest.CaptureFixture[str]) -> None:
    code, lines, _ = ask(capsys, "今天天气怎么样", "--json")
    assert code == 0
    got = json.loads(lines[0])
    assert set(got) >= {"intent", "params", "clauses", "answer"}
    assert got["intent"] == "unknown" and got["clauses"] == []
    assert "没能看懂" in got["answer"]


def test_language_follows_the_question_unless_given(capsys: pytest.CaptureFixture[str]) -> None:
    _, lines, _ = ask(capsys, "tell me a joke", "--json")
    assert "did not understand" in json.loads(lines[0])["answer"]
    _, lines, _ = ask(capsys, "tell me a joke", "--json", "--lang", "zh")
    assert "没能看懂" in json.loads(lines[0])["answer"]


def test_batch_from_file_and_stdin_keeps_order(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    questions = ["转人工", "今天天气怎么样", "", "I want to make a complaint", "录像机没画面了"]
    batch = tmp_path / "q.txt"
    batch.write_text("\n".join(questions), encoding="utf-8")
    code, lines, _ = ask(capsys, "--batch", str(batch), "--json")
    assert code == 0
    assert [json.loads(x)["intent"] for x in lines] == ["human", "unknown", "complaint", "report_fault"]
    monkeypatch.setattr("sys.stdin", io.StringIO("\n".join(questions)))
    code, lines2, _ = ask(capsys, "--batch", "-")
    assert code == 0 and lines2 == lines


@pytest.mark.parametrize(
    "argv",
    [
        ["--json"],  # no question
        ["x", "--on", "2026-02-30"],
        ["x", "--batch", "-"],  # both
        ["--batch", "/nonexistent/file.txt"],
    ],
)
def test_bad_arguments_exit_2(capsys: pytest.CaptureFixture[str], argv: list[str]) -> None:
    code, _, err = ask(capsys, *argv)
    assert code == 2 and "sdbot ask:" in err


def test_bad_lang_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["ask", "x", "--lang", "fr"])
    assert exc.value.code == 2


def test_unknown_customer_exits_2(
    capsys: pytest.CaptureFixture[str], template_db: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    db = tmp_path / "desk.db"
    shutil.copy(template_db, db)
    monkeypatch.setenv("DATABASE_URL", f"sqlite+aiosqlite:///{db}")
    code, _, err = ask(capsys, "我的录像机还在保修期内吗", "--customer", "C9999", "--json")
    assert code == 2 and "C9999" in err


def test_customer_option_answers_about_their_registered_equipment(
    capsys: pytest.CaptureFixture[str], template_db: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import asyncio

    from bot.demo import load_demo
    from storage.db import Database

    db_file = tmp_path / "desk.db"
    shutil.copy(template_db, db_file)
    url = f"sqlite+aiosqlite:///{db_file}"

    async def seed() -> None:
        db = Database(url)
        try:
            await load_demo(db)
        finally:
            await db.dispose()

    asyncio.run(seed())
    monkeypatch.setenv("DATABASE_URL", url)
    code, lines, _ = ask(capsys, "我的设备还在保修期内吗", "--customer", "c1001", "--on", "2026-11-23", "--json")
    got = json.loads(lines[0])
    assert code == 0 and got["intent"] == "warranty.status"
    assert "NVR-2025-0001" in got["answer"] and "CAM-2026-0107" in got["answer"]
    assert "warranty.start.acceptance" in got["clauses"]
    code, lines, _ = ask(capsys, "我的设备还在保修期内吗", "--on", "2026-11-23", "--json")
    assert "NVR-2025-0001" not in json.loads(lines[0])["answer"]  # nobody identified


def test_explain_prints_the_clauses_with_wording_and_source(capsys: pytest.CaptureFixture[str]) -> None:
    code, lines, _ = ask(capsys, "福田，三位工程师上门一天多少钱", "--explain")
    assert code == 0 and lines[0].startswith("📋") and "3 位工程师" in lines[0]
    why = lines[lines.index("依据的条款"):]
    assert any(line.startswith("• fee.onsite.city（S4") for line in why)
    code, lines, _ = ask(capsys, "Software was 60000 and hardware 20000, yearly maintenance?", "--explain", "--json")
    got = json.loads(lines[0])
    assert got["figures"] == ["14000"] and "fee.maintenance_contract (S0)" in got["explain"]

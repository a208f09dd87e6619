"""The callback-data codec (bot/core/callbacks.py): round trips, and forged or malformed data."""

from __future__ import annotations

import pytest

from bot.core.callbacks import MAX_BYTES, SPECS, Press, decode, encode

SAMPLES: list[tuple[tuple[str, str, tuple[int | str, ...]], str]] = [
    (("lang", "", ("zh-hant",)), "lang:zh-hant"),
    (("rp", "eq", (42,)), "rp:eq:42"),
    (("rp", "eq", ("none",)), "rp:eq:none"),
    (("rp", "sev", ("high",)), "rp:sev:high"),
    (("rp", "as", ("yes",)), "rp:as:yes"),
    (("rp", "submit", ()), "rp:submit"),
    (("rp", "same", ()), "rp:same"),
    (("dup", "diff", (12,)), "dup:diff:12"),
    (("tk", "cancel", ("SD-2026-000123",)), "tk:cancel:SD-2026-000123"),
    (("rt", "", (7, "satisfied")), "rt:7:satisfied"),
    (("qa", "v", ("1500",)), "qa:v:1500"),
    (("qa", "why", ("0a1b2c3d",)), "qa:why:0a1b2c3d"),
    (("qa", "human", ()), "qa:human"),
    (("sr", "", (9,)), "sr:9"),
    (("dp", "pause_customer", (999_999_999_999,)), "dp:pause_customer:999999999999"),
    (("as", "to", (3, 12)), "as:to:3:12"),
    (("wk", "kind", ("onsite",)), "wk:kind:onsite"),
    (("sw", "no", (5,)), "sw:no:5"),
    (("fu", "reopen", (8,)), "fu:reopen:8"),
    (("sv", "pg", (4, 0)), "sv:pg:4:0"),
    (("rl", "msg", (11,)), "rl:msg:11"),
    (("rl", "canned", (11,)), "rl:canned:11"),
    (("rl", "note", (11,)), "rl:note:11"),
    (("rl", "reply", (11,)), "rl:reply:11"),
    (("rl", "send", (11, "restart")), "rl:send:11:restart"),
]


@pytest.mark.parametrize(("parts", "wire"), SAMPLES)
def test_round_trip_keeps_the_wire_format(parts: tuple[str, str, tuple[int | str, ...]], wire: str) -> None:
    prefix, action, fields = parts
    assert encode(prefix, action, *fields) == wire
    assert decode(wire) == Press(prefix, action, fields)
    assert decode(wire, prefix) == Press(prefix, action, fields)


def test_every_spec_is_sampled() -> None:
    assert {(p, a) for (p, a, _), _ in SAMPLES} <= set(SPECS)
    assert {p for p, _ in SPECS} == {p for (p, _, _), _ in SAMPLES}


def test_typed_fields_come_back_typed() -> None:
    press = decode("as:to:3:12")
    assert press is not None and press.num(0) == 3 and press.num(1) == 12
    assert decode("tk:cancel:sd-2026-000123") == Press("tk", "cancel", ("SD-2026-000123",))
    with pytest.raises(TypeError):
        Press("rp", "eq", ("none",)).num(0)


LONG = "9" * 60
FORGED = [
    None, "", ":", "::::", "zz:1", "ticket:ack:999", "x" * 64, "<b>hi</b>", "{{7*7}}", "\u202e\u0000",
    "lang:", "lang:fr", "lang:zh:extra", "lang:<b>zh</b>",
    "rp:", "rp:cust:1", "rp:eq:-1", "rp:eq:0", "rp:eq:1e3", "rp:eq:\u00b2", f"rp:eq:{LONG}", "rp:eq:" + "9" * 13,
    "rp:sev:", "rp:sev:Down", "rp:sev:a b", "rp:submit:now", "rp:as:maybe", "rp:::::", "rp:cust:1 OR 1=1",
    "tk:cancel:", "tk:cancel:' OR '1'='1", "tk:cancel:%", f"tk:cancel:{'A' * 54}", "tk:cancel:SD-26-1",
    "rt:x:satisfied", "rt:-1:satisfied", "rt:\u0661:satisfied", "rt:1:", "rt:1:__class__:x", "rt:1",
    "qa:v:", "qa:v:<script>", "qa:" + "v" * 61, "qa:nothing", "qa:human:1",
    "sr:", "sr:abc", "sr:-5", "sr:1;DROP TABLE tickets", "sr:\u00b2", "sr:\u0661", f"sr:{LONG}",
    "dp:ack:", "dp:ack:0", "dp:delete:1", "dp:ack:1 OR 1=1", "dp:ack:1:x", "dp:resolve:\u0661", "dp:ack: 1",
    "dp:ack:+1", "dp:ack:01x", "DP:ack:1",
    "as:menu:", "as:to:1", "as:to:1:x", "as:delete:1", f"as:to:1:{LONG}",
    "wk:kind:", "wk:kind:" + "p" * 56, "wk:kind:Phone",
    "sw:maybe:1", "sw:ok:1;1", "sw:ok:\u00b2",
    "fu:x:1", "fu:reopen:",
    "sv:pg:1:-1", "sv:pg:x:y", "sv:pg:", "sv:pg:1:100000", "sv:pg:0:0",
    "rl:msg:", "rl:msg:0", "rl:msg:x", "rl:msg:1:2", "rl:send:1", "rl:send:1:Restart", "rl:send:1:../x",
    "rl:send:1:restart:x", "rl:send:x:restart", "rl:reply:\u0661", "rl:delete:1", "rl:note:1 OR 1=1",
]


@pytest.mark.parametrize("data", FORGED)
def test_forged_and_malformed_data_parse_to_none(data: str | None) -> None:
    assert decode(data) is None


def test_a_prefix_filter_refuses_other_buttons() -> None:
    assert decode("dp:ack:1", "sw") is None
    assert decode("dp:ack:1", "dp") == Press("dp", "ack", (1,))


def test_over_64_bytes_is_refused_both_ways() -> None:
    assert decode("qa:v:" + "é" * 30) is None  # 65 bytes, though only 35 characters
    with pytest.raises(ValueError):
        encode("qa", "why", "a" * 40 + "b" * 30)
    assert len(encode("as", "to", 999_999_999_999, 999_999_999_999).encode()) <= MAX_BYTES


@pytest.mark.parametrize(("prefix", "action", "fields"), [
    ("dp", "explode", (1,)), ("dp", "ack", ()), ("dp", "ack", (1, 2)), ("dp", "ack", ("1",)),
    ("dp", "ack", (0,)), ("dp", "ack", (True,)), ("rp", "sev", ("a:b",)), ("lang", "", ("fr",)),
    ("tk", "cancel", ("sd-2026-000001",)),
])
def test_building_bad_data_is_a_bug(prefix: str, action: str, fields: tuple[int | str, ...]) -> None:
    with pytest.raises(ValueError):
        encode(prefix, action, *fields)

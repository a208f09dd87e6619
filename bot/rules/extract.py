"""Parameters in a normalised question: items with quantities, dates, amounts, zone, people…

Input is the output of ``bot.rules.normalize.normalize`` (ASCII digits, Simplified, lower case).
Every function is pure; ``extract`` gathers what is present into a JSON-friendly dict.
"""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal
from typing import Any

# item key → phrases (longest first wins where phrases overlap: 程控交换机 before 交换机)
ITEMS: dict[str, tuple[str, ...]] = {
    "pbx": ("程控交换机", "电话交换机", "程控", "集团电话", "pbx"),
    "info_point": ("信息点", "网络点", "网络信息点", "information point", "data point",
                   "network point"),
    "voice_point": ("语音点", "电话点", "voice point"),
    "switch": ("交换机", "switches", "switch"),
    "server": ("服务器", "servers", "server"),
    "pc": ("电脑", "计算机", "pcs", "pc", "computers", "computer"),
    "billing_software": ("计费软件", "话费软件", "话务计费", "call billing", "billing software"),
    "speaker": ("音箱", "喇叭", "扬声器", "speakers", "speaker"),
    "amplifier": ("功放", "功率放大器", "扩音机", "amplifiers", "amplifier", "amps", "amp"),
    "nvr": ("硬盘录像机", "录像机", "录影机", "监控主机", "nvrs", "nvr", "dvrs", "dvr"),
    "camera": ("摄像头", "摄像机", "监控头", "枪机", "球机", "半球", "cameras", "camera", "cams"),
    "cctv_aux": ("监控辅助设备", "辅助设备", "auxiliary"),
    "detector": ("探测器", "detectors", "detector"),
    "alarm_host": ("报警主机", "alarm host", "alarm panel"),
    "attendance": ("考勤机", "考勤终端", "attendance terminal", "attendance"),
    "access_terminal": ("门禁机", "门禁终端", "门禁控制器", "门禁", "access control",
                        "access terminal"),
    "pos": ("消费机", "收银机", "pos机", "pos terminal", "pos"),
    "onecard_software": ("一卡通软件", "one-card software"),
}
_ITEM_PHRASES = sorted(
    ((phrase, key) for key, phrases in ITEMS.items() for phrase in phrases),
    key=lambda pk: -len(pk[0]),
)
_COUNTER = r"(?:台|个|部|套|只|支|条|颗|路|块|件|组|个的|\s)?"
_NUM = r"(\d{1,5})"

# Shenzhen district names (and their pinyin) → the Chinese name; which zone a district belongs to
# is the policy's business (``fees.onsite.<zone>.districts``), these only recognise the names.
DISTRICTS = {
    "罗湖": "罗湖", "福田": "福田", "南山": "南山", "宝安": "宝安", "龙岗": "龙岗", "龙华": "龙华",
    "坪山": "坪山", "光明": "光明", "盐田": "盐田", "大鹏": "大鹏", "luohu": "罗湖", "futian": "福田",
    "nanshan": "南山", "baoan": "宝安", "bao'an": "宝安", "longgang": "龙岗", "longhua": "龙华",
    "pingshan": "坪山", "guangming": "光明", "yantian": "盐田", "dapeng": "大鹏",
}
# when the policy file lists no districts: the classic inner districts (关内) are the city
CITY_DISTRICTS = ("罗湖", "福田", "南山")
_CITY_WORDS = ("市区", "市内", "关内", "city centre", "city center", "downtown", "in the city",
               "city district")
_SUBURB_WORDS = ("郊区", "关外", "市外", "郊外", "suburb", "outside the city", "outskirts")


def _item_at(text: str, pos: int) -> tuple[str, str] | None:
    for phrase, key in _ITEM_PHRASES:
        if text.startswith(phrase, pos):
            return phrase, key
    return None


def items(text: str) -> list[dict[str, Any]]:
    """Items named in the text with quantity (``qty``) and size (``size``: ports / watts)."""
    if "一卡通" in text:  # "一卡通系统：考勤机2台……软件1套": that software is the one-card software
        text = re.sub(r"(?<!一卡通)(?<!计费)(?<!话费)软件", "一卡通软件", text)
    found: list[dict[str, Any]] = []
    taken: list[tuple[int, int]] = []
    for phrase, key in _ITEM_PHRASES:
        start = 0
        while (pos := text.find(phrase, start)) != -1:
            end = pos + len(phrase)
            start = end
            if any(a <= pos < b or a < end <= b for a, b in taken):
                continue
            if phrase.isascii() and not _word_bounded(text, pos, end):
                continue
            taken.append((pos, end))
            found.append({"item": key, "pos": pos, "_end": end, **_quantity_near(text, pos, end, key)})
    found.sort(key=lambda d: d["pos"])
    _one_count_per_item(text, found)
    for m in re.finditer(r"各\s*(\d{1,5})\s*(?:台|个|部|套|只|支)?|(\d{1,5})\s*(?:units?|pcs)?\s*each", text):
        for entry in found:  # "摄像头、录像机各2台": every item named before 各 without its own count
            if entry["pos"] < m.start() and "qty" not in entry:
                entry["qty"] = int(m.group(1) or m.group(2))
    for entry in found:
        for k in ("pos", "_end", "_qpos", "_qside"):
            entry.pop(k, None)
    merged: dict[tuple[str, Any], dict[str, Any]] = {}
    for entry in found:
        item_size = (entry["item"], entry.get("size"))
        if item_size in merged:
            if "qty" in entry:
                merged[item_size]["qty"] = merged[item_size].get("qty", 0) + entry["qty"]
            continue
        merged[item_size] = entry
    return list(merged.values())


_ZH_COUNTED = re.compile(
    r"(?<![\d.])\d{1,5}\s*(?:台|个|套|只|支|部|路|块|件|units?|pcs|sets?)"
    r"(?!\s*(?:人|小时|钟|月|星期|礼拜|工作日|工程师|师傅|技术员|同事|员工|学员|people|hours?|days?))"
)
_EN_COUNTED = re.compile(
    r"(?<![\d.])\d{1,5}\s+(?!(?:ports?|w|watts?|yuan|rmb|cny|days?|hours?|people|persons?|engineers?|technicians?|"
    r"techs?|staff|employees?|years?|months?|weeks?|times|trips?|extra|more|visits?|units?|sets?|pcs|each|of|and|for|"
    r"to|in|at|per|with|or)(?![a-z]))([a-z]+)"
)


def unpriced(text: str, found: list[dict[str, Any]]) -> bool:
    """A counted thing that no item took ("读卡器20个", "10 printers"): a total would leave it out."""
    counted = len(_ZH_COUNTED.findall(text))
    mixed = counted > 0  # "switch 12台": the Chinese counter already counted it
    for word in _EN_COUNTED.findall(text):
        stem = word.rstrip("s")
        is_item = any(p.startswith(stem) or stem.startswith(p.split()[0].rstrip("s"))
                      for p, _ in _ITEM_PHRASES if p.isascii())
        counted += 0 if is_item and mixed else 1
    with_qty = sum(1 for i in found if "qty" in i)
    return counted > with_qty


def _word_bounded(text: str, start: int, end: int) -> bool:
    """An ASCII phrase is matched only as a whole word ("pos" not inside "postage")."""
    before = text[start - 1] if start else " "
    if text.startswith("es", end) and not text[end + 2:end + 3].isalpha():
        end += 2
    elif text.startswith("s", end):
        end += 1
    after = text[end] if end < len(text) else " "
    return not (before.isascii() and before.isalpha()) and not (after.isascii() and after.isalpha())


def _after_qty(text: str, end: int) -> dict[str, Any]:
    """A count right after an item ("交换机12台"), with where it stands."""
    m = re.match(rf"\s*{_NUM}\s*(?:台|个|部|套|只|支|条|颗|路|块|件|units?|pcs)", text[end:end + 20])
    return {"qty": int(m.group(1)), "_qpos": end + m.start(1), "_qside": "after"} if m else {}


def _one_count_per_item(text: str, found: list[dict[str, Any]]) -> None:
    """Each written count belongs to one item: "摄像头20个录像机2台" is 20 cameras and 2 NVRs (the
    20 is not the NVRs' too); "音箱和功放40个" could be either or both, so neither keeps it."""
    used: set[int] = set()
    previous: dict[str, Any] | None = None
    for entry in found:
        if entry.get("_qpos") in used:
            for k in ("qty", "_qpos", "_qside"):
                entry.pop(k, None)
            entry.update(_after_qty(text, entry["_end"]))
            if entry.get("_qpos") in used:
                for k in ("qty", "_qpos", "_qside"):
                    entry.pop(k, None)
        if (previous is not None and "qty" not in previous and entry.get("_qside") == "after"
                and re.fullmatch(r"\s*(?:和|与|跟|及|以及|、|,|，|and|&|\+)\s*", text[previous["_end"]:entry["pos"]])):
            for k in ("qty", "_qpos", "_qside"):
                entry.pop(k, None)
        if "_qpos" in entry:
            used.add(entry["_qpos"])
        previous = entry


def _quantity_near(text: str, start: int, end: int, key: str) -> dict[str, Any]:
    """Quantity just before ("12台交换机", "12 switches") or after ("交换机12台"); size too."""
    out: dict[str, Any] = {}
    base = max(0, start - 16)
    before = text[base:start]
    after = text[end:end + 20]
    size_rx = r"(?<!\d)(\d{1,5})\s*(?:门|口|端口|-?ports?|-?port|\s*w(?![a-z])|瓦|w)"
    m = re.search(rf"{_NUM}\s*{_COUNTER}\s*(?:{size_rx}\s*(?:的)?\s*)?$", before)
    size_before = re.search(rf"{size_rx}\s*(?:的)?\s*$", before)
    lead = before
    if size_before:
        out["size"] = int(size_before.group(1))
        lead = before[:size_before.start()]
        m2 = re.search(rf"{_NUM}\s*{_COUNTER}\s*$", lead)
        if m2:
            out.update(qty=int(m2.group(1)), _qpos=base + m2.start(1), _qside="before")
    elif m:
        out.update(qty=int(m.group(1)), _qpos=base + m.start(1), _qside="before")
    if "qty" not in out:
        out.update(_after_qty(text, end))
    if "size" not in out:
        m = re.match(rf"\s*(?:\d+\s*(?:台|个|只|units?))?\s*(?:,|，|\(|（)?\s*(?:with\s+|带|的|每台|每个|each|of|rated)?\s*{size_rx}", after)
        if m:
            out["size"] = int(m.group(1))
    if key in ("pbx", "amplifier", "server", "nvr", "billing_software", "onecard_software") and (
        "qty" not in out and re.search(r"(?:^|[^\d])(?:1|a|one|an)\s*(?:台|套|个)?\s*$", lead)
    ):
        out["qty"] = 1
    if key not in ("pbx", "amplifier"):
        out.pop("size", None)
    return out


# --- dates --------------------------------------------------------------------------------

_ISO = re.compile(r"(\d{4})[-/.年](\d{1,2})[-/.月](\d{1,2})[日号]?")
_MD = re.compile(r"(去年|今年|前年)?(\d{1,2})月(\d{1,2})[日号]")
_EN_MONTHS = {m: i for i, m in enumerate(
    ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"), 1)}
_EN_DATE = re.compile(
    r"\b(\d{1,2})\s+(jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\.?,?\s+(\d{4})\b"
    r"|\b(jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\.?\s+(\d{1,2})(?:st|nd|rd|th)?,?\s+(\d{4})\b"
)


_RELATIVE = re.compile(
    r"(今天|today)|(昨天|yesterday)|(前天)|(\d{1,3})\s*(?:天前|天之前|days? ago)|上个?月\s*(\d{1,2})\s*[日号]"
)


def _relative_date(text: str, today: dt.date) -> dt.date | None:
    """今天 / 昨天 / 前天 / N 天前 / 上个月 N 号 / yesterday / N days ago."""
    m = _RELATIVE.search(text)
    if m is None:
        return None
    if m.group(1):
        return today
    if m.group(2):
        return today - dt.timedelta(days=1)
    if m.group(3):
        return today - dt.timedelta(days=2)
    if m.group(4):
        return today - dt.timedelta(days=int(m.group(4)))
    first = today.replace(day=1) - dt.timedelta(days=1)
    return _safe_date(first.year, first.month, int(m.group(5)))


def date_in(text: str, today: dt.date | None = None) -> dt.date | None:
    """The first calendar date in the text (ISO, 2025年3月15日, 去年6月1号, 1 June 2025, 昨天,
    3天前, 上个月5号…)."""
    today = today or dt.date.today()
    if m := _ISO.search(text):
        return _safe_date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
    if m := _EN_DATE.search(text):
        if m.group(1):
            return _safe_date(int(m.group(3)), _EN_MONTHS[m.group(2)], int(m.group(1)))
        return _safe_date(int(m.group(6)), _EN_MONTHS[m.group(4)], int(m.group(5)))
    if m := _MD.search(text):
        shift = {"去年": -1, "前年": -2, "今年": 0}.get(m.group(1) or "")
        year = today.year + (shift or 0)
        found = _safe_date(year, int(m.group(2)), int(m.group(3)))
        if found and shift is None and found > today:
            found = _safe_date(year - 1, int(m.group(2)), int(m.group(3)))
        return found
    return _relative_date(text, today)


def _safe_date(y: int, m: int, d: int) -> dt.date | None:
    try:
        return dt.date(y, m, d)
    except ValueError:
        return None


# --- amounts and counts -------------------------------------------------------------------

_SCALE = r"(万|千|k(?![a-z])|w(?![a-z]))"
_CURRENCY = r"(?:元|块钱|块|rmb|yuan|cny|人民币|dollars?|bucks)"
# a number that is not a date, a time, a count of things or people, or a percentage
_NOT_MONEY_AFTER = r"(?!\d|\.\d|[万千](?!元)|k(?![a-z])|\s*(?:年|月|日|号|天|个|台|人|位|名|点|小时|%|-|/|st|nd|rd|th|days?|hours?|months?|years?|people|units?|engineers?|ports?|门|路|w(?![a-z])|瓦|次|趟))"
_AMOUNT = rf"(\d+(?:\.\d+)?)\s*{_SCALE}?\s*{_CURRENCY}?"


def _scaled(number: str, unit: str | None) -> Decimal:
    value = Decimal(number)
    return value * {"万": 10000, "w": 10000, "千": 1000, "k": 1000}.get(unit or "", 1)


def amount_after(text: str, word_rx: str) -> Decimal | None:
    """The amount that belongs to a word: "软件10万", "软件当时花了8万", "software was 60000".

    The amount follows the word within a few characters that hold no other number and no other
    software/hardware word, or directly precedes it ("10万的软件").
    """
    m = re.search(rf"(?:{word_rx})[^\d软硬]{{0,12}}?(?:¥|￥|rmb|cny)?\s*{_AMOUNT}{_NOT_MONEY_AFTER}", text)
    if m and not re.search(r"software|hardware|软件|硬件", text[m.start() + 1:m.start(1)]):
        return _scaled(m.group(1), m.group(2))
    m = re.search(rf"{_AMOUNT}\s*(?:的)?\s*(?:{word_rx})", text)
    if m and m.group(1) and (m.group(2) or re.search(_CURRENCY, m.group(0))):
        return _scaled(m.group(1), m.group(2))
    return None


_MONEY_PATTERNS = (
    re.compile(r"(?:¥|￥|rmb|cny|人民币)\s*(\d+(?:\.\d+)?)\s*" + _SCALE + "?"),
    re.compile(r"(\d+(?:\.\d+)?)\s*" + _SCALE + r"?\s*(?:元|块钱|块|yuan|rmb|cny|人民币|的东西|的货|的设备|的配件|的交换机|的产品|的机器|的材料)"),
    re.compile(r"(\d+(?:\.\d+)?)\s*(k)(?![a-z])"),
    re.compile(r"(?:worth|价值|金额|总价|总额|花了|合同|款)\s*(?:of|is|为|是)?\s*(\d+(?:\.\d+)?)" + _SCALE + "?" + _NOT_MONEY_AFTER),
)


def amounts(text: str) -> list[Decimal]:
    """Every amount of money in the text, in order of appearance, each once."""
    found: list[tuple[int, Decimal]] = []
    spans: list[tuple[int, int]] = []
    for rx in _MONEY_PATTERNS:
        for m in rx.finditer(text):
            if any(a <= m.start(1) < b for a, b in spans):
                continue
            spans.append(m.span(1))
            found.append((m.start(1), _scaled(m.group(1), m.group(2) if rx.groups > 1 else None)))
    if not found:  # a bare number of 3+ digits that is not a year, a date or a count
        for m in re.finditer(r"(?<![\d.-])(\d{3,9})(?![\d-])" + _NOT_MONEY_AFTER, text):
            if not re.search(r"\d{4}[-/年]", text):
                found.append((m.start(1), Decimal(m.group(1))))
    out: list[Decimal] = []
    for _, value in sorted(found):
        if value not in out:
            out.append(value)
    return out


def money(text: str) -> Decimal | None:
    """The amount of money in the text when there is exactly one (else None)."""
    found = amounts(text)
    return found[0] if len(found) == 1 else None


def zone(text: str, city_districts: tuple[str, ...] = CITY_DISTRICTS) -> tuple[str | None, str | None]:
    """(zone, district) from a district name (zone by ``city_districts``) or words like 市区/郊区.

    Two districts in different zones ("福田和宝安") give (None, None): the answer asks.
    """
    named = list(dict.fromkeys(d for name, d in DISTRICTS.items() if name in text))
    zones = {("city" if d in city_districts else "suburb") for d in named}
    if len(zones) > 1:
        return None, None
    if named:
        return zones.pop(), named[0]
    if any(w in text for w in _SUBURB_WORDS):
        return "suburb", None
    if any(w in text for w in _CITY_WORDS):
        return "city", None
    return None, None


def _count(text: str, rx: str) -> int | None:
    m = re.search(rx, text)
    if not m:
        return None
    return int(next(g for g in m.groups() if g is not None))


def event(text: str) -> str | None:
    """How the warranty starts: acceptance, express, freight or sale."""
    if re.search(r"验收|工程(?!师)|项目|acceptance|accepted|project|install", text):
        return "acceptance"
    if re.search(r"快递|顺丰|courier|express", text):
        return "express"
    if re.search(r"物流|货运|托运|freight|shipped by truck|logistics", text):
        return "freight"
    if re.search(r"门店|柜台|购买|买的|买了|现场买|(?<![a-z])bought(?![a-z])|purchased|over the counter|(?<![a-z])sale(?![a-z])", text):
        return "sale"
    return None


def delivered(text: str) -> bool:
    """The date given is the day the goods arrived ("昨天到货", "收到的", "arrived on")."""
    return bool(re.search(r"到货|收到|签收|到的|送到|寄到|arrived|received|delivered", text)) and not re.search(
        r"发的|发出|寄出|发货|shipped|sent (it|them|out)|dispatched", text)


def extract(text: str, *, today: dt.date | None = None) -> dict[str, Any]:
    """Every parameter present in the normalised question."""
    out: dict[str, Any] = {}
    found = items(text)
    if found:
        out["items"] = found
        if unpriced(text, found):
            out["unpriced"] = True
    when = date_in(text, today)
    if when:
        out["date"] = when.isoformat()
    z, district = zone(text)
    if z:
        out["zone"] = z
    if district:
        out["district"] = district
    ev = event(text)
    if when and ev in ("express", "freight") and delivered(text):
        ev = "sale"  # the date is the arrival: the warranty starts on it (the presumed delivery date)
        out["delivered"] = True
    if ev:
        out["event"] = ev
        out["kind"] = "project" if ev == "acceptance" else "product"
    elif re.search(r"工程(?!师)|项目|系统集成|project", text):
        out["kind"] = "project"
    soft = amount_after(text, r"软件|software")
    hard = amount_after(text, r"硬件|hardware")
    together = re.search(r"软硬件|(软件|software)\s*(和|与|加|跟|及|以及|and|&|\+)\s*(硬件|hardware)"
                         r"|(硬件|hardware)\s*(和|与|加|跟|及|以及|and|&|\+)\s*(软件|software)", text)
    if together and (soft is None or hard is None or soft == hard):  # one amount for both: no split
        soft = hard = None
        out["split_needed"] = True
    if re.search(r"软件|software", text):
        out["software"] = True
    if soft is not None:
        out["software_amount"] = str(soft)
    if hard is not None:
        out["hardware_amount"] = str(hard)
    if soft is None and hard is None:
        found_amounts = amounts(text)
        if len(found_amounts) == 1:
            out["amount"] = str(found_amounts[0])
        elif found_amounts:  # which one is meant? the answer asks instead of guessing
            out["amount_choices"] = [str(a) for a in found_amounts[:4]]
    people = _count(text, r"(\d+)\s*(?:个人|人|位|名|个员工|员工|个同事|同事|个学员|学员|people|persons?|staff|employees?|trainees?)")
    days = _count(text, r"(\d+)\s*(?:天|days?)|(?<![月\d])(\d{1,2})\s*日(?!期)")
    if people:
        out["people"] = people
    if days:
        out["days"] = days
    if re.search(r"高级|进阶|advanced", text):
        out["level"] = "advanced"
    elif re.search(r"基础|初级|入门|basic|beginner", text):
        out["level"] = "basic"
    if re.search(r"系统故障|系统问题|system", text):
        out["remote_kind"] = "system"
    elif re.search(r"软件|software|(?<![a-z])app(?![a-z])", text):
        out["remote_kind"] = "software"
    if re.search(r"复杂|难题|疑难|技术难|hard|difficult|complex|technical problem", text):
        out["phone_kind"] = "hard"
    trips = _count(text, r"(?:运|搬|拉|transport\w*)\D{0,12}?(\d+)\s*(?:趟|转|trips?|times)|(\d+)\s*(?:趟|trips?)\s*(?:的)?(?:大型?设备|设备|运输|of)")
    if trips is None and re.search(r"transport\w*\D{0,30}twice|twice\D{0,10}transport", text):
        trips = 2
    if trips is None and re.search(r"(大型?设备运输|运输大型?设备|transport\w* (of )?(the )?large)", text) and re.search(
            r"(?<!\d)1\s*趟|一趟|once|per trip|a trip|每趟", text):
        trips = 1
    if trips:
        out["transport_trips"] = trips
    extra_visits = _count(
        text,
        r"(\d+)\s*次返|(\d+)\s*(?:extra|more|additional) visits?|(?:再|又|多)(?:上门|来|过来|跑)了?\s*(\d+)\s*(?:次|趟)",
    )
    if extra_visits is None and (m := re.search(r"第\s*(\d+)\s*次上门|(\d+)(?:nd|rd|th) visit", text)):
        extra_visits = int(next(g for g in m.groups() if g)) - 1 or None
    if extra_visits is None and (re.search(
        r"(?:再|又|重新|多)(?:上门|来|过来|跑)|second visit|another visit|visit again|come (back|again)|return visit", text
    ) and re.search(r"返修|又坏|再次|returned|second|again|another|return visit|come back", text) or re.search(
        r"返修.{0,6}上门|上门.{0,6}返修|(?:extra|additional|follow-up|repeat) visit|visit .{0,30}(came|come|sent) back", text
    )):
        extra_visits = 1
    if extra_visits:
        out["extra_visits"] = extra_visits
    extra_hours = _count(
        text,
        r"(?:多|加班|超出|超过|超时|额外|extra)\s*(?:做|干|工作|干活|修|待|呆)?了?\s*(\d+)\s*(?:个)?\s*(?:小时|钟头|hours?)"
        r"|(\d+)\s*(?:个)?\s*(?:extra|more|additional|overtime)\s*hours?|(\d+)\s*(?:hours?)\s*(?:extra|more|overtime)",
    )
    if extra_hours:
        out["extra_hours"] = extra_hours
    else:
        worked = _count(text, r"(?:干|做|工作|修|弄|待|呆|忙)了\s*(\d+)\s*(?:个)?\s*(?:小时|钟头)|(?:worked|took|spent|working)\s*(?:for\s*)?(\d+)\s*hours?")
        if worked:
            out["hours_worked"] = worked
    engineers = _count(text, r"(\d+)\s*(?:个|位|名)?\s*(?:工程师|师傅|技术员|技术人员|engineers?|technicians?|techs?)(?![a-z])")
    if engineers:
        out["engineers"] = engineers
    day_no = _count(text, r"第(\d+)天|day\s*(\d+)") or _count(text, r"(?:到货|收到|after)\D{0,6}(\d+)\s*(?:天|days?)")
    if day_no:
        out["day"] = day_no
    stray = stray_numbers(text, out)
    if stray:
        out["stray"] = stray
    return out


# numbers that are part of the wording, not parameters: "第2年起", "24小时", "30天后", "2个工作日"
_WORDING_NUMBERS = re.compile(
    r"第\s*\d+\s*(?:年|期|次|天)|\d+\s*(?:个)?(?:小时|工作日|天)\s*(?:内|之内|以内|后)|\d+\s*%|"
    r"\d+(?:st|nd|rd|th)\b|(?:year|day|within|after)\s+\d+|\d+\s*(?:days?|hours?)\s+(?:after|later|ago|within)|"
    r"\d+\s*(?:-|to|至|到)\s*\d+|\d+\s*年(?:保|质保|保修)|\d+\s*years?|\d+\s*年|"
    r"(?:[1-9]|1[0-2])\s*(?:点|am|pm|:\d\d)|\d+\s*(?:月|月份)|\d+\s*(?:payments?|instal?lments?|期|批)"
)
_NUMBER = re.compile(r"(\d+(?:\.\d+)?)\s*(万|千|k(?![a-z])|w(?![a-z]))?")


def stray_numbers(text: str, params: dict[str, Any]) -> list[str]:
    """Numbers in the question that no parameter took: an answer computed without them could be
    a confidently wrong amount, so the answerer states the prices and computes no total."""
    spans = [m.span() for rx in (_ISO, _MD, _EN_DATE, _RELATIVE, _WORDING_NUMBERS) for m in rx.finditer(text)]
    used: set[Decimal] = set()
    for key in ("people", "days", "engineers", "extra_hours", "hours_worked", "transport_trips", "day"):
        if key in params:
            used.add(Decimal(params[key]))
    if "extra_visits" in params:
        used |= {Decimal(params["extra_visits"]), Decimal(params["extra_visits"] + 1)}
    for item in params.get("items") or []:
        used |= {Decimal(item[k]) for k in ("qty", "size") if k in item}
    for key in ("amount", "software_amount", "hardware_amount"):
        if key in params:
            used.add(Decimal(params[key]))
    used |= {Decimal(a) for a in params.get("amount_choices") or []}
    stray = [m.group(0) for m in _VAGUE.finditer(text)
             if not (m.group(0) == "twice" and params.get("transport_trips") == 2)]
    for m in _NUMBER.finditer(text):
        if any(a <= m.start() < b for a, b in spans):
            continue
        value = _scaled(m.group(1), m.group(2))
        if value not in used and Decimal(m.group(1)) not in used and not (value == 1 and _ONE_WORD.search(text, max(0, m.start() - 1))):
            unit = re.match(r"\s*([\u4e00-\u9fff])", text[m.end():])
            stray.append(m.group(0).strip() + (unit.group(1) if unit and not m.group(2) else ""))
    return stray


# quantities without a number that a calculator would read as 1 ("半天", "twice")
_VAGUE = re.compile(r"半天|半日|半个月|half (?:a )?day|half-day|twice|thrice|several|a few|a couple")
# "1" that the normaliser made of 一 in ordinary words ("上门1次", "一天", "1台" of a listing)
_ONE_WORD = re.compile(r"1\s*(?:次|趟|天|台|个|套|下|位|名|人|份|张|家|点)")

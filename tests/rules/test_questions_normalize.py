"""Normalisation on libraries: OpenCC phrases, regional vocabulary, cn2an values, pinyin typos."""

from __future__ import annotations

import pytest

from bot.rules.normalize import chinese_number, normalize


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("甚至", "甚至"), ("顯著", "显著"), ("著名", "著名"), ("螢幕", "屏幕"), ("乾淨", "干净"),
        ("軟體", "软件"), ("網路", "网络"), ("交換器", "交换机"), ("攝影機", "摄像机"),
        ("錄影機", "录像机"), ("保養期幾耐", "保修期多久"), ("遙距維修收唔收錢", "远程维修收不收钱"),
        ("壞咗", "坏了"), ("教育訓練", "培训"), ("宅配寄出", "快递寄出"),
        ("宝修期", "保修期"), ("保休", "保修"), ("包修几年", "保修几年"), ("保故", "保修"),
        ("我要报修", "我要报修"),  # bào (report) is not bǎo (warranty)
    ],
)
def test_traditional_regional_and_typos(raw: str, expected: str) -> None:
    assert normalize(raw) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("帮我们代购5万元的设备", "帮我们代购50000元的设备"),
        ("代购两万五的交换机", "代购25000的交换机"),
        ("软件合同十万,验收后", "软件合同100000,验收后"),
        ("2.5万块", "25000块"),
        ("三位工程师", "3位工程师"),
        ("千万不要一直等一下", "千万不要一直等一下"),
    ],
)
def test_amounts_and_quantities(raw: str, expected: str) -> None:
    assert normalize(raw) == expected


@pytest.mark.parametrize(("text", "value"), [("两万五", 25000), ("两千五", 2500), ("一百零五", 105), ("十", 10), ("二十万", 200000)])
def test_chinese_number_values(text: str, value: int) -> None:
    assert chinese_number(text) == value

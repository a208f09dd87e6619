"""Regional and colloquial wording → the Simplified words the intent patterns match on.

Applied after OpenCC's Taiwan → Simplified phrase conversion (which already turns 軟體 into 软件,
網路 into 网络, 錄影機 into 录像机, 螢幕 into 屏幕). What is left here is vocabulary OpenCC keeps
as it is: Hong Kong / Cantonese words and particles, Taiwan product names, courier words, and a
few abbreviations customers use. Longest phrase first, so 收唔收钱 is read before 唔.
"""

from __future__ import annotations

REGIONAL: dict[str, str] = {
    # warranty
    "保固": "保修", "保养期": "保修期", "保用期": "保修期", "年度保养": "年度维护", "保养费": "维护费",
    "保养合同": "维护合同", "保养": "保修", "保用": "保修",
    "年保": "年维护", "包修": "保修", "包保修": "保修",
    # time
    "几耐": "多久", "个钟": "个小时", "个钟头": "个小时", "蚊": "元", "几长时间": "多长时间", "几时": "什么时候", "几点钟": "几点",
    # money
    "收唔收钱": "收不收钱", "收唔收费": "收不收费", "使唔使钱": "收不收钱", "使钱": "收费",
    "几钱": "多少钱", "几多钱": "多少钱", "几多": "多少", "点收费": "怎么收费", "点计": "怎么算",
    "点样": "怎么", "点算": "怎么算", "报价单": "报价",
    # people, places, actions
    "真人": "真人", "同真人讲": "找真人", "当值": "值班",
    "上嚟整": "上门修", "上来整": "上门修", "嚟整": "上门修", "整机": "修机", "整好": "修好",
    "整唔好": "修不好", "整部": "修部", "遥距": "远程", "远端": "远程", "教育训练": "培训",
    "后备机": "备用机", "代用机": "备用机", "宅配": "快递", "黑猫": "快递", "一转": "一趟",
    "有人覆": "有人回复", "报障": "报修", "拎返": "拿回", "帮手": "帮忙", "覆我": "回复我",
    # Taiwan / Hong Kong product names
    "交换器": "交换机", "摄影机": "摄像机", "闭路电视": "监控", "伺服器": "服务器",
    "资讯点": "信息点", "网路": "网络", "软体": "软件", "硬体": "硬件", "合约": "合同",
    "订制": "定制", "萤幕": "屏幕", "荧幕": "屏幕", "录影机": "录像机", "扩音机": "功放",
    # Cantonese particles and verbs
    "坏咗": "坏了", "咗": "了", "嘅": "的", "啲": "的", "哋": "们", "喺": "在", "冇": "没有",
    "唔": "不", "仲": "还", "系咪": "是不是", "嚟": "来", "乜嘢": "什么", "咩": "什么",
    "边度": "哪里", "俾": "给", "畀": "给", "嘢": "东西", "睇": "看", "揾": "找",
}
_ORDER = sorted(REGIONAL, key=len, reverse=True)

# Traditional words OpenCC's Taiwan profile would turn into a different product: replaced first
BEFORE_OPENCC: dict[str, str] = {"擴音機": "功放", "擴音器": "功放", "揚聲器": "扬声器"}


def before_opencc(text: str) -> str:
    """Replace the few Traditional words OpenCC would mistranslate for this domain."""
    for word, common in BEFORE_OPENCC.items():
        if word in text:
            text = text.replace(word, common)
    return text


def regional_to_common(text: str) -> str:
    """Replace regional words (already Simplified characters) by the common Simplified ones."""
    for word in _ORDER:
        if word in text:
            text = text.replace(word, REGIONAL[word])
    return text

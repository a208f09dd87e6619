"""Text normalisation before intent matching: width, case, Traditional → Simplified, numerals.

Pure functions, no downloads: the Traditional → Simplified table below covers the characters of
everyday service-desk questions (a character missing here only weakens matching, it never breaks).
"""

from __future__ import annotations

import re
import unicodedata

# Traditional → Simplified, as pairs "TS" separated by spaces (one character each side).
_T2S_PAIRS = (
    "們们 設设 備备 機机 錄录 頭头 攝摄 監监 視视 鏡镜 錶表 換换 貨货 買买 賣卖 費费 錢钱 價价 "
    "維维 護护 修修 質质 時时 間间 從从 開开 關关 麼么 麽么 嗎吗 還还 過过 這这 個个 壞坏 號号 "
    "碼码 門门 運运 郵邮 遞递 務务 報报 單单 處处 週周 節节 裡里 裏里 後后 來来 將将 會会 與与 "
    "對对 帳账 賬账 戶户 轉转 銀银 詢询 諮咨 問问 題题 請请 協协 議议 約约 簽签 車车 輛辆 線线 "
    "網网 絡络 鐘钟 區区 羅罗 華华 龍龙 崗岗 寶宝 鹽盐 廣广 擴扩 聲声 統统 係系 雲云 數数 據据 "
    "庫库 裝装 驗验 貴贵 貼贴 標标 籤签 損损 擊击 災灾 動动 讓让 給给 員员 專专 業业 廠厂 場场 "
    "現现 實实 際际 計计 註注 冊册 確确 認认 說说 話话 為为 爲为 甚什 誰谁 許许 發发 長长 東东 "
    "舊旧 錯错 誤误 斷断 連连 續续 總总 額额 幣币 塊块 臺台 條条 張张 盡尽 儘尽 經经 濟济 終终 "
    "檢检 測测 試试 層层 級级 進进 階阶 礎础 結结 啓启 啟启 調调 離离 遠远 邊边 縣县 鎮镇 內内 "
    "項项 準准 樓楼 廳厅 資资 訊讯 紀纪 環环 購购 滿满 態态 負负 責责 傳传 歡欢 幫帮 煩烦 該该 "
    "須须 讀读 筆笔 記记 腦脑 卻却 隻只 雙双 種种 類类 樣样 產产 壽寿 齡龄 補补 償偿 賠赔 毀毁 "
    "燒烧 灣湾 聯联 當当 壓压 隨随 劃划 遲迟 應应 複复 雜杂 簡简 規规 則则 詳详 細细 兩两 萬万 "
    "億亿 剛刚 頂顶 辦办 變变 無无 燈灯 亂乱 閃闪 響响 聽听 見见 觀观 覺觉 顯显 圖图 畫画 電电 "
    "話话 體体 軟软 訓训 練练 礎础 訂订 費费 術术 師师 腳脚 趟趟 擺摆 點点 幾几 沒没 嗎吗 麼么 "
    "讀读 頁页 鍵键 盤盘 碟碟 硬硬 體体 極极 蘭兰 蘇苏 鄉乡 鎖锁 鑰钥 匙匙 閘闸 卡卡 紅红 綠绿 "
    "藍蓝 黃黄 圓圆 飯饭 館馆 廚厨 醫医 院院 學学 校校 園园 廈厦 鬆松 緊紧 慢慢 氣气 熱热 溫温 "
    "濕湿 風风 雷雷 淹淹 狀状 況况 險险 惡恶 劣劣 差差 評评 語语 譯译 講讲 談谈 聊聊 吵吵 罵骂 "
    "態态 處处 辭辞 職职 擔担 遺遗 漏漏 錄录 寫写 單单 據据 發发 票票 稅税 順顺 豐丰 遞递 郵邮 "
    "費费 謝谢 您您 喂喂 嘛嘛 囉啰 啦啦 團团 隊队 陣阵 協协 戰战 幹干 乾干 於于 眾众 衛卫 餘余 "
    "預预 約约 險险 額额 夠够 夥伙 蓋盖 貸贷 債债 帶带 歸归 遞递 億亿 愛爱 麵面 優优 惠惠 驚惊 "
    "據据 鬧闹 蟲虫 鳥鸟 魚鱼 馬马 鐵铁 銅铜 鋁铝 錫锡 鍍镀 鏈链 纜缆 繩绳 織织 紙纸 組组 織织 "
    "級级 絕绝 給给 紐纽 綁绑 維维 網网 緒绪 續续 繼继 總总 績绩 續续 纖纤 屬属 廢废 彈弹 強强 "
    "後后 徑径 從从 復复 徵征 慮虑 懷怀 戲戏 據据 擋挡 擇择 擁拥 擾扰 攜携 數数 斂敛 曆历 曉晓 "
    "樂乐 橋桥 機机 權权 歲岁 歷历 殘残 氣气 漢汉 潔洁 滅灭 燒烧 獨独 獎奖 環环 產产 畢毕 異异 "
    "療疗 盡尽 礙碍 禮礼 穩稳 窮穷 競竞 筆笔 築筑 範范 糧粮 紀纪 純纯 紋纹 細细 終终 絡络 給给 "
    "統统 緩缓 編编 縮缩 繁繁 罰罚 聖圣 聞闻 肅肃 脈脉 腸肠 膠胶 臉脸 舉举 艙舱 藝艺 蘋苹 號号 "
    "蝕蚀 補补 襯衬 親亲 觸触 討讨 訪访 証证 評评 詞词 試试 詩诗 話话 認认 誌志 語语 誠诚 課课 "
    "調调 諾诺 謂谓 講讲 譜谱 護护 讚赞 貓猫 貝贝 負负 財财 貢贡 販贩 責责 貼贴 費费 賀贺 資资 "
    "賓宾 賞赏 質质 賴赖 趕赶 跡迹 蹤踪 軍军 較较 輕轻 輸输 轉转 辦办 農农 這这 遊游 運运 過过 "
    "達达 違违 遙遥 適适 選选 遺遗 還还 邏逻 郵邮 鄰邻 醜丑 釋释 針针 鈕钮 銷销 鋪铺 錄录 錶表 "
    "鍋锅 鎖锁 鏡镜 鐘钟 長长 門门 閉闭 開开 閒闲 間间 閱阅 闆板 關关 陣阵 陰阴 陳陈 陸陆 隊队 "
    "階阶 隱隐 雖虽 雞鸡 離离 難难 靈灵 靜静 頻频 顆颗 題题 額额 顏颜 願愿 類类 顧顾 風风 飛飞 "
    "飯饭 飲饮 養养 餘余 館馆 驅驱 驗验 體体 髮发 鬥斗 鬧闹 麥麦 黨党 齊齐 齒齿 龜龟 週周 衝冲 "
    "託托 託托 噸吨 嚴严 囑嘱 團团 圍围 執执 堅坚 報报 場场 塊块 塗涂 墊垫 壇坛 壞坏 壯壮 夢梦 "
    "奪夺 奮奋 婦妇 媽妈 嬰婴 寢寝 實实 寧宁 審审 寫写 寬宽 將将 專专 尋寻 導导 屆届 層层 岡冈 "
    "島岛 峽峡 帥帅 師师 幣币 幫帮 廠厂 廣广 廳厅 彎弯 徹彻 恆恒 悅悦 惱恼 愛爱 態态 慣惯 "
    "憂忧 憶忆 應应 懂懂 戀恋 戶户 抵抵 掃扫 掛挂 採采 揀拣 換换 損损 搖摇 搶抢 擊击 擔担 據据 "
    "擠挤 擬拟 擴扩 擺摆 攝摄 敵敌 斷断 於于 時时 晝昼 暫暂 曬晒 會会 東东 條条 來来 楊杨 榮荣 "
    "構构 槍枪 樣样 標标 樓楼 檔档 櫃柜 欄栏 權权 歡欢 殺杀 毀毁 氫氢 決决 沒没 況况 淚泪 淺浅 "
    "測测 湊凑 湯汤 溝沟 滿满 漲涨 潛潜 澤泽 濟济 濾滤 災灾 為为 烏乌 無无 煉炼 熱热 燈灯 爐炉 "
    "爭争 牆墙 狀状 猶犹 獲获 現现 瑪玛 產产 畫画 當当 疊叠 瘋疯 發发 盜盗 盤盘 眾众 礎础 確确 "
    "碼码 禍祸 種种 稱称 穀谷 窗窗 竊窃 節节 範范 簡简 籃篮 粵粤 紅红 約约 級级 紙纸 線线 練练 "
    "緣缘 縣县 總总 績绩 繪绘 繫系 罷罢 義义 習习 聯联 聲声 職职 聽听 膽胆 興兴 舊旧 莊庄 華华 "
    "萬万 葉叶 著着 蓮莲 蔣蒋 薦荐 藥药 蘭兰 處处 號号 蠟蜡 衛卫 裝装 見见 規规 視视 親亲 覽览 "
    "觀观 訂订 計计 訊讯 討讨 訓训 記记 設设 許许 訴诉 診诊 詢询 該该 詳详 誤误 說说 請请 諸诸 "
    "謀谋 謝谢 證证 識识 警警 議议 變变 讓让 豐丰 貨货 貫贯 貸贷 費费 賀贺 賈贾 賣卖 賤贱 賽赛 "
    "購购 贈赠 贏赢 趙赵 跡迹 蹟迹 車车 軌轨 軟软 較较 載载 輔辅 輛辆 輪轮 辦办 辭辞 遠远 適适 "
    "遷迁 選选 邊边 醫医 鉛铅 錦锦 錯错 鍵键 鎮镇 鐵铁 鑑鉴 閃闪 閩闽 闊阔 陽阳 際际 險险 隨随 "
    "隻只 雜杂 雙双 雞鸡 電电 需需 韓韩 響响 頁页 頂顶 項项 順顺 須须 預预 領领 頭头 頸颈 頻频 "
    "題题 顯显 風风 颱台 飾饰 餐餐 饑饥 駛驶 騙骗 驚惊 髒脏 鬆松 魯鲁 鮮鲜 鳳凤 鹹咸 麗丽 黃黄 "
    "點点 黨党 齡龄 龍龙"
)
T2S: dict[int, str] = {ord(p[0]): p[1] for p in _T2S_PAIRS.split() if len(p) == 2}

# Traditional-only vocabulary (Taiwan / Hong Kong wording) → the Simplified word we match on.
_WORDS = {
    "保固": "保修",
    "軟體": "软件",
    "软体": "软件",
    "硬體": "硬件",
    "硬体": "硬件",
    "合約": "合同",
    "合约": "合同",
    "訂製": "定制",
    "订制": "定制",
    "諮詢": "咨询",
    "資訊": "信息",
    "资讯": "信息",
    "網路": "网络",
    "网路": "网络",
    "攝影機": "摄像机",
    "摄影机": "摄像机",
}

_CN_DIGITS = {"零": 0, "〇": 0, "一": 1, "二": 2, "两": 2, "兩": 2, "三": 3, "四": 4, "五": 5,
              "六": 6, "七": 7, "八": 8, "九": 9}
_CN_UNITS = {"十": 10, "百": 100, "千": 1000, "万": 10000, "萬": 10000}
_CN_NUMBER = re.compile(r"[零〇一二两兩三四五六七八九十百千万萬]+")
# a Chinese numeral directly followed by a counter / unit word is a quantity
_CN_FOLLOWERS = ("台", "个", "個", "部", "套", "只", "隻", "路", "门", "門", "口", "点", "點", "位",
                 "人", "名", "天", "次", "趟", "年", "月", "日", "号", "號", "小时", "小時", "万",
                 "块", "塊", "元", "瓦", "w", "W", "端", "户", "戶", "周", "週", "星期")
_KEEP_WORDS = ("一下", "一直", "一样", "一樣", "一般", "一起", "一共", "一次性", "万一", "一点",
               "一點", "十分", "一些", "一切", "统一", "統一", "一定", "唯一", "第一")


def chinese_number(text: str) -> int | None:
    """Value of a Chinese numeral such as 十二, 一百二十, 两千五, 三万; None when not one."""
    if not text or any(ch not in _CN_DIGITS and ch not in _CN_UNITS for ch in text):
        return None
    total, section, digit = 0, 0, None
    for ch in text:
        if ch in _CN_DIGITS:
            digit = _CN_DIGITS[ch]
            continue
        unit = _CN_UNITS[ch]
        if unit == 10000:
            section = (section + (digit or 0)) * unit
            total += section
            section, digit = 0, None
            continue
        section += (1 if digit is None else digit) * unit
        digit = None
    result = total + section + (digit or 0)
    # "两千五" = 2500: a trailing digit after 千/百 counts one order lower
    if digit is not None and len(text) >= 2 and text[-2] in ("千", "百") and text[-2] != text[-1]:
        result += digit * (_CN_UNITS[text[-2]] // 10) - digit
    return result


def _replace_cn_numbers(text: str) -> str:
    def repl(m: re.Match[str]) -> str:
        start, end = m.span()
        token = m.group(0)
        after = text[end:end + 2]
        context = text[max(0, start - 1):end + 2]
        if any(w in context for w in _KEEP_WORDS):
            return token
        if not after.startswith(_CN_FOLLOWERS) and token not in ("十", "百"):
            return token
        if token in ("十", "百") and not after.startswith(_CN_FOLLOWERS):
            return token
        value = chinese_number(token)
        return token if value is None else str(value)

    return _CN_NUMBER.sub(repl, text)


def to_simplified(text: str) -> str:
    """Traditional → Simplified (word table first, then characters)."""
    for trad, simp in _WORDS.items():
        if trad in text:
            text = text.replace(trad, simp)
    return text.translate(T2S)


def normalize(text: str) -> str:
    """Canonical form for matching: NFKC (full-width → ASCII), lower case, Simplified, digits.

    Chinese numerals followed by a counter become Arabic digits ("十二台" → "12台"); thousands
    separators are dropped ("10,000" → "10000"); whitespace runs collapse to one space.
    """
    text = unicodedata.normalize("NFKC", text or "").lower()
    text = to_simplified(text)
    text = re.sub(r"(?<=\d),(?=\d{3}\b)", "", text)
    text = _replace_cn_numbers(text)
    text = text.replace("’", "'").replace("‘", "'")
    return re.sub(r"\s+", " ", text).strip()

"""Free-text question → one intent of the catalog (keyword/phrase rules over normalised text).

Technique (chosen on the labelled set in tests/data/questions.jsonl): the text is normalised
(full-width → ASCII, Traditional → Simplified, Chinese numerals → digits), English words with
typos are snapped to the vocabulary with rapidfuzz, then *concepts* (fee, on-site, warranty…) are
detected by phrase patterns and an ordered list of rules maps the concepts present to an intent —
the first rule that holds wins. Nothing is downloaded; a question costs well under a millisecond.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from rapidfuzz import fuzz, process

from bot.rules.extract import extract
from bot.rules.normalize import normalize

INTENTS = (
    "warranty.period", "warranty.start", "warranty.status", "warranty.exclusions",
    "return.policy", "exchange.policy", "repair.turnaround", "shipping.cost", "sla.response",
    "service.hours", "fee.onsite", "fee.remote", "fee.phone", "fee.training",
    "fee.out_of_warranty", "fee.annual", "fee.maintenance_contract", "fee.proxy_purchase",
    "payment.deposit", "payment.software", "payment.hardware", "payment.channels", "loaner",
    "complaint", "human", "report_fault", "unknown",
)

# --- concepts: name → phrase patterns (regular expressions over the normalised text) --------

CONCEPTS: dict[str, tuple[str, ...]] = {
    "service_year": (r"服务年度", r"服务期", r"维护年度", r"维护期", r"服务年", r"service year",
                     r"maintenance year", r"contract year", r"maintenance period"),
    "warranty": (r"保修", r"还保", r"保几年", r"保多久", r"保多长", r"能保.{0,2}(多|几)", r"保修期", r"质保", r"保内", r"在保", r"过保", r"保不保", r"\bwarrant", r"\bguarantee",
                 r"\bcovered\b", r"保外"),
    "period": (r"多久", r"多长", r"几年", r"期限", r"多少年", r"年限", r"1年还是2年", r"how long",
               r"\bperiod\b", r"how many (years|months)", r"\blength\b"),
    "start": (r"开始算", r"按.{0,6}算", r"从.{0,8}算", r"起算", r"开始", r"从哪天", r"起始", r"从什么时候", r"哪天算", r"\bstart",
              r"\bbegin", r"from when", r"from which", r"count(ed)? from"),
    "status": (r"还在", r"过保了", r"过保没", r"在保吗", r"还在保", r"保修状态", r"还能保", r"过期了",
               r"\bstill\b", r"\byet\b", r"\bstatus\b", r"\bexpired\b\?"),
    "mine": (r"我的", r"我们的", r"我们家", r"\bmy\b", r"\bour\b", r"\bmine\b"),
    "exclusion": (r"不保", r"老鼠", r"鼠咬", r"咬断", r"烧坏", r"停电", r"电压", r"保修范围", r"不包括", r"人为", r"雷击", r"雷劈", r"进水", r"拆机", r"拆过", r"摔了", r"摔", r"\bwater\b", r"\bwet\b", r"入水", r"进了水", r"拆开", r"拆了", r"(自己|别人|外面|外人|第三方|其他人).{0,6}(修|拆|改|动)过", r"(找|请)了?(别人|外人|外面的人|第三方)", r"电涌", r"浪涌", r"power surge", r"\bsurge", r"(our own|ourselves|someone else).{0,20}(open|repair|fix)", r"操作不当", r"误操作", r"弄坏", r"人为损坏", r"someone else", r"(?<![a-z])open(ed)? (the|it|our)", r"\bby ourselves", r"third[- ]party",
                  r"标签", r"序列号", r"自己修", r"私自", r"别人修", r"其他人修", r"雷打", r"雷.{0,2}坏", r"cover (what|which)", r"what does .{0,20}cover", r"天灾", r"水淹", r"哪些情况", r"摔坏",
                  r"not covered", r"\bexclu", r"lightning", r"water damage", r"\bflood", r"misuse",
                  r"tamper", r"disassembl", r"\bopened\b", r"dropped"),
    "sample": (r"样品", r"\bsamples?\b"),
    "return": (r"退货", r"退钱", r"包退", r"退款", r"退回", r"退吗", r"能退", r"可以退", r"退掉", r"退不退",
               r"\breturn", r"\brefund", r"money back"),
    "exchange": (r"换货", r"包换", r"换新", r"换1台", r"换个新", r"换吗", r"能换", r"换1个",
                 r"\bexchange", r"\bswap", r"for a new one", r"replace it"),
    "repair_time": (r"寄修", r"寄回.{0,4}修", r"寄过去", r"能寄回", r"寄返", r"寄回来", r"多少日", r"送修", r"返修", r"寄回去", r"维修周期", r"寄回来", r"\bdepot",
                    r"send .{0,20}back", r"turnaround", r"get it back", r"get (my|our|the) (unit|device|equipment|camera|nvr|switch|item|machine|system) back", r"back from (the )?repair"),
    "shipping": (r"运费", r"邮费", r"快递费", r"物流费", r"寄费", r"shipping (cost|fee|charge)", r"(pays?|paid|covers?|charge) (for )?(the )?(shipping|postage|courier|delivery|freight)", r"shipping.{0,20}\b(who|pay)", r"postage",
                 r"courier (cost|fee)", r"who pays (for )?(the )?(courier|shipping|postage|delivery|freight)", r"freight (cost|fee)", r"delivery (cost|fee)"),
    "sla": (r"响应", r"多久.{0,4}(派|过来)", r"多久.{0,4}回复", r"上门.{0,6}(几个?小时|多久)", r"shows? up", r"how long until", r"多久.{0,2}到", r"几个?小时.{0,2}到", r"多久能来", r"多久上门", r"上门要多久",
            r"多长时间.{0,3}修好", r"多长时间.{0,2}(到|来|上门)", r"多久.{0,2}(能|可以)?上门", r"how long .{0,30}respond", r"多久.{0,3}修好", r"几天.{0,3}修好", r"多快.{0,3}修好", r"多快", r"到场", r"时效", r"\brespon", r"how fast",
            r"how soon", r"how quickly", r"\barrive", r"fix time", r"\bsla\b"),
    "hours": (r"值班", r"几点", r"上班", r"下班", r"服务时间", r"工作时间", r"周末", r"周六", r"星期六", r"礼拜六", r"礼拜天", r"公众假期", r"public holiday", r"节假日", r"假期",
              r"晚上", r"半夜", r"夜里", r"凌晨", r"24小时", r"星期天", r"周日", r"国庆", r"春节",
              r"(your|opening|office|business|working|service|support|duty) hours", r"what hours", r"hours (are|do) you", r"are you open", r"open (on|at|hours)", r"when .{0,12}open", r"weekend", r"at night", r"overnight", r"\bnights\b", r"holiday", r"on duty",
              r"\bsunday"),
    "fee": (r"多少钱", r"收费", r"费用", r"价格", r"价钱", r"钱", r"收不收", r"免费", r"收多少",
            r"怎么算", r"费", r"报价", r"报个价", r"怎么收", r"\bbill\b", r"\bquote\b", r"一共多少", r"总共多少", r"合计", r"加多少", r"多少钱", r"收钱", r"付多少", r"多少$", r"\btotal\b", r"take money", r"how much extra", r"要收", r"收吗", r"\bcost", r"\bfees?\b", r"\bprice",
            r"\bpric", r"\bcharge", r"how much", r"\bfree\b", r"\bpay\b"),
    "onsite": (r"上门", r"到现场", r"现场", r"过来1趟", r"来1趟", r"出差", r"派人", r"on-?site",
               r"on site", r"\bvisit", r"send (an|a) (engineer|technician)", r"come over",
               r"call-?out", r"(再|又)来\d?\s*(次|趟)", r"返修.{0,6}(来|上门)", r"派\d*(个|位|名)?(工程师|师傅|技术员|技术人员|人)", r"(工程师|师傅|技术员)(去|到|过来|来)", r"(师傅|工程师|技术员).{0,12}(干|做|修|待)了", r"(engineers?|technicians?) (spent|worked|was|were|came|stayed)", r"(come|coming) to\b", r"(engineers?|technicians?) (to|in|at|for)\b", r"大型?设备运输", r"运输大型?设备", r"运输\d*趟", r"运输费", r"transport\w* .{0,20}per trip", r"large equipment", r"运\d*趟", r"transport\w* (of )?(the )?large"),
    "remote": (r"远程", r"远端", r"\bremote", r"teamviewer", r"向日葵", r"todesk"),
    "phone": (r"电话", r"\bphone", r"\bcall\b", r"hotline"),
    "training": (r"培训", r"学.{0,6}操作", r"\btrain", r"教一下"),
    "oow": (r"过保", r"保修期外", r"保外", r"过了保修", r"出了保修", r"保修过期", r"保修期过了",
            r"out of warranty", r"after (the )?warranty", r"warranty (expires|expired|is over)",
            r"post-warranty"),
    "annual": (r"年度维", r"年维护", r"[1每]年.{0,3}(维护|维保)", r"包年", r"维保", r"按年", r"每年",
               r"\bannual", r"\byearly", r"per year", r"a year"),
    "maintenance": (r"维护", r"维保", r"\bmaint"),
    "contract": (r"软硬件", r"维护合同", r"维保合同", r"维护协议", r"第2年", r"次年", r"比例",
                 r"maintenance contract", r"second year", r"\bpercent"),
    "proxy": (r"代购", r"purchasing for", r"\bcommission", r"帮(我们|我|忙)?(采购|代买)", r"代买", r"帮忙买", r"帮我们买", r"帮我买", r"代采", r"on our behalf",
              r"\bproxy", r"buy (it |them )?for us", r"purchase for us", r"(buy|purchase|source|procure)\b.{0,40}\bfor us", r"帮.{0,4}(采购|买|订购|订货)"),
    "deposit": (r"定金", r"订金", r"押金", r"\bdeposit"),
    "software_pay": (r"软件款", r"软件.{0,8}(付|分期|款)", r"尾款", r"首付", r"分几期", r"分期",
                     r"软件.{0,24}(付多少|付款|分几期|每期)", r"software\b.{0,40}\bpay", r"pay on completion", r"software\b.{0,40}\b(due|instal|pay)", r"(days )?after completion", r"software payment", r"installment", r"instalment", r"payment schedule"),
    "hardware_pay": (r"硬件.{0,8}(付|款)", r"货到付款", r"定制.{0,10}(付|款|钱|预先)", r"预付", r"预先(付|给)", r"先款后货",
                     r"pay.{0,12}hardware", r"hardware.{0,12}pay"),
    "channels": (r"付款方式", r"业务员", r"销售员", r"支付方式", r"账户", r"账号", r"对公", r"转账", r"私人", r"微信",
                 r"支付宝", r"银行", r"现金", r"给.{0,4}师傅", r"给工程师", r"直接给", r"salesm[ae]n", r"personal account", r"私人账户", r"个人账户", r"现金", r"刷卡(付|支付|吗|付款)", r"(可以|能不能|能)刷卡", r"信用卡", r"credit card", r"payment method", r"bank account", r"wechat",
                 r"alipay", r"pay to", r"\bdirectly\b", r"\bcash\b"),
    "loaner": (r"备用机", r"替换的?设备", r"先给(个|台|1台)", r"备用设备", r"备机", r"借", r"临时用", r"临时(的)?(设备|机器|机)", r"loan unit", r"\bborrow", r"替代机", r"替换机", r"temporary replacement", r"replacement unit", r"周转机", r"\bloaner",
               r"\bspare\b", r"temporary unit", r"\blend", r"replacement (device|unit|machine)", r"while (you|they) (fix|repair)", r"while (ours|it|the unit) is (in|being|at)", r"in the shop"),
    "complaint": (r"投诉", r"很不满意", r"非常不满意", r"服务.{0,4}不满意", r"对.{0,12}不满意",
                  r"太差", r"差评", r"态度.{0,2}(差|不好)", r"气死", r"\bcomplain", r"\bunhappy",
                  r"\brude\b", r"terrible service", r"dissatisfied"),
    "human": (r"(?<![付收免])人工(?!费)", r"^(请问|喂|你好)?[,， ]*(有人吗|有人在吗|有没有人|人呢|在吗|有人在线吗|在不在)[?？!！。.]*$", r"打.{0,3}电话给我", r"给我回.{0,2}电话", r"真人", r"客服", r"工作人员", r"(?<!自己)(?<!我们)找(个)?人(?!拆|修|改|装|弄|看过|动过)", r"联系我", r"打给我", r"回电", r"经理",
              r"\bhuman\b", r"\bagent\b", r"real person", r"talk to (a |someone|somebody)",
              r"representative", r"\boperator\b", r"call me( back)?", r"speak to (a |someone)"),
    "report": (r"报修", r"断线", r"keeps \w+ing", r"\bbeep", r"(放|开|连|打|登|用|录)不了", r"不通", r"坏掉", r"reboot", r"keeps (restarting|crashing|dropping)", r"坏了", r"故障", r"不能用", r"没有?画面", r"画面.{0,3}(模糊|不清|卡|闪)", r"模糊", r"没有?反应", r"没有?图像", r"no image", r"黑屏", r"打不开", r"开不了机",
               r"没反应", r"不亮", r"掉线", r"断网", r"没信号", r"不录像", r"打不出去", r"死机",
               r"花屏", r"重开机", r"重启", r"卡顿", r"帮忙看看", r"打不了", r"不能打开", r"won't (open|start|work|turn)", r"can't (open|connect|log)", r"不工作", r"失灵", r"连不上", r"\bbroken\b", r"not working", r"\bdown\b",
               r"\bfault\b", r"\boffline\b", r"\bdead\b", r"not recording", r"no picture",
               r"won't", r"doesn't work", r"please fix", r"report a (fault|problem)"),
    "repair": (r"维修", r"修", r"\brepair", r"\bfix", r"\bbreaks?\b"),
    "software": (r"软件", r"\bsoftware"),
    "hardware": (r"硬件", r"\bhardware"),
}



def ascii_bounds(pattern: str) -> str:
    r"""``\b`` that works next to Chinese characters (which count as word characters in ``re``)."""
    pattern = re.sub(r"\\b(?=[a-z(])", "(?<![a-z])", pattern)
    return pattern.replace("\\b", "(?![a-z])")


_COMPILED = {
    name: re.compile("|".join(f"(?:{ascii_bounds(p)})" for p in pats))
    for name, pats in CONCEPTS.items()
}

# English words the patterns know, for snapping typos ("waranty" → "warranty").
_VOCAB = sorted({
    "warranty", "guarantee", "covered", "period", "start", "begin", "status", "expired",
    "exclusion", "lightning", "return", "refund", "exchange", "depot", "shipping", "postage",
    "response", "respond", "arrive", "hours", "weekend", "night", "holiday", "cost", "price",
    "charge", "onsite", "visit", "remote", "phone", "hotline", "training", "annual", "yearly",
    "maintenance", "contract", "proxy", "deposit", "software", "hardware", "payment",
    "installment", "wechat", "alipay", "account", "loaner", "spare", "complaint", "complain",
    "unhappy", "human", "agent", "person", "representative", "operator", "broken", "working",
    "fault", "offline", "recording", "repair", "repairs", "switch", "switches", "camera",
    "cameras", "server", "servers", "amplifier", "speaker", "detector", "terminal", "labour",
    "purchase", "behalf", "schedule", "second", "suburb", "suburbs", "city", "courier",
    "freight", "acceptance", "delivery", "engineer", "technician", "people", "advanced", "basic",
})
_WORD = re.compile(r"[a-z][a-z'-]{3,}")


@lru_cache(maxsize=4096)
def _snap(word: str) -> str:
    """A misspelt English word → the closest vocabulary word (unchanged when nothing is close)."""
    if word in _VOCAB_SET or len(word) < 5 or any(
        word.endswith(end) and word[: -len(end)] in _VOCAB_SET for end in ("s", "es", "ed", "d", "ing")
    ):
        return word
    hit = process.extractOne(word, _VOCAB, scorer=fuzz.ratio, score_cutoff=84)
    return hit[0] if hit else word


_VOCAB_SET = frozenset(_VOCAB)


def spell_fix(text: str) -> str:
    """Snap misspelt English words and common Chinese typos to the known vocabulary."""
    for wrong, right in _ZH_TYPOS.items():
        if wrong in text:
            text = text.replace(wrong, right)
    if not re.search(r"[a-z]", text):
        return text
    return _WORD.sub(lambda m: _snap(m.group(0)), text)


_ZH_TYPOS = {"保休": "保修", "报休": "报修", "上们": "上门", "收废": "收费", "多少前": "多少钱",
             "远城": "远程", "培驯": "培训", "维户": "维护", "质宝": "质保", "保秀": "保修",
             "maintainance": "maintenance", "maintenence": "maintenance", "warrenty": "warranty"}


def concepts(text: str) -> frozenset[str]:
    """The concepts present in normalised ``text``."""
    return frozenset(name for name, rx in _COMPILED.items() if rx.search(text))


# --- the decision list ------------------------------------------------------------------------


@dataclass(frozen=True)
class Rule:
    """``intent`` when every concept in ``need`` is present and none in ``unless``."""

    intent: str
    need: tuple[str, ...]
    unless: tuple[str, ...] = ()
    extra: str | None = None  # a named extra condition (see _EXTRA)


_EXTRA = {
    "dated": lambda params: "date" in params,
    "items": lambda params: bool(params.get("items")),
    "amounts_both": lambda params: "software_amount" in params and "hardware_amount" in params,
}

RULES: tuple[Rule, ...] = (
    Rule("complaint", ("complaint",)),
    Rule("human", ("human",), unless=("sla", "exclusion")),
    Rule("payment.deposit", ("deposit",)),
    Rule("fee.proxy_purchase", ("proxy",)),
    Rule("payment.software", ("software_pay",)),
    Rule("fee.maintenance_contract", ("contract",), unless=("hours",)),
    Rule("fee.maintenance_contract", ("maintenance",), extra="amounts_both"),
    Rule("fee.maintenance_contract", ("software", "hardware", "maintenance")),
    Rule("warranty.start", ("service_year",)),
    Rule("payment.hardware", ("hardware_pay",)),
    Rule("payment.channels", ("channels",)),
    Rule("loaner", ("loaner",)),
    Rule("fee.training", ("training",)),
    Rule("fee.remote", ("remote",)),
    Rule("fee.annual", ("annual",), unless=("warranty",)),
    Rule("fee.annual", ("maintenance", "fee"), extra="items"),
    Rule("fee.annual", ("annual", "maintenance")),
    Rule("shipping.cost", ("shipping",)),
    Rule("fee.onsite", ("onsite", "fee"), unless=("remote", "phone")),
    Rule("return.policy", ("sample",)),
    Rule("repair.turnaround", ("repair_time",)),
    Rule("fee.out_of_warranty", ("oow", "fee")),
    Rule("fee.out_of_warranty", ("oow", "repair"), unless=("status", "mine")),
    Rule("fee.onsite", ("onsite", "fee")),
    Rule("fee.phone", ("phone", "fee")),
    Rule("warranty.exclusions", ("exclusion",)),
    Rule("warranty.start", ("warranty", "start"), unless=("status",)),
    Rule("warranty.status", ("warranty",), extra="dated"),
    Rule("warranty.status", ("return",), extra="dated"),
    Rule("warranty.status", ("exchange",), extra="dated"),
    Rule("return.policy", ("return",)),
    Rule("exchange.policy", ("exchange",)),
    Rule("warranty.start", ("warranty", "start")),
    Rule("warranty.status", ("warranty", "status")),
    Rule("warranty.status", ("warranty", "mine"), unless=("period",)),
    Rule("warranty.status", ("oow",)),
    Rule("warranty.period", ("warranty",)),
    Rule("service.hours", ("hours",)),
    Rule("sla.response", ("sla",)),
    Rule("sla.response", ("onsite", "period")),
    Rule("fee.onsite", ("repair", "fee"), unless=("software",)),
    Rule("report_fault", ("report",)),
)


@dataclass
class Classified:
    """The intent of a question, its parameters and the concepts seen (for debugging)."""

    intent: str
    params: dict[str, Any] = field(default_factory=dict)
    concepts: frozenset[str] = frozenset()
    text: str = ""


def decide(found: frozenset[str], params: dict[str, Any]) -> str:
    """The first rule satisfied by the concepts (and extracted parameters); else ``unknown``."""
    for rule in RULES:
        present = all(c in found for c in rule.need) and not any(c in found for c in rule.unless)
        if present and (rule.extra is None or _EXTRA[rule.extra](params)):
            return rule.intent
    return "unknown"


def classify(text: str, *, today: dt.date | None = None) -> Classified:
    """Normalise, detect concepts, extract parameters and pick the intent of ``text``."""

    norm = spell_fix(normalize(text))
    params = extract(norm, today=today)
    found = concepts(norm)
    return Classified(intent=decide(found, params), params=params, concepts=found, text=norm)

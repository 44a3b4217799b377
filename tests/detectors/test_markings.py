"""Classification-marking detectors: a marking counts only where it stands as one.

Every case runs through the real engine with both prefilter backends
(Hyperscan and the Python ``re`` fallback), so a prefilter that is too narrow
for one backend shows up as a missed marking here.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from detectors.engine import Engine
from detectors.extract import extract_bytes
from detectors.extract.segment import Segment
from detectors.findings import Severity
from detectors.markings.cn_state_secret import CnStateSecretDetector
from detectors.markings.cn_work_secret import CnWorkSecretDetector
from detectors.markings.corporate import CorporateMarkingDetector
from detectors.markings.us_classification import UsClassificationDetector

BACKENDS = ("hyperscan", "regex")
PROSE_ZH = "本周五下午三点在三楼会议室召开部门例会，请准时参加。\n"
PROSE_EN = "We reviewed the draft budget and agreed on the next steps.\n"
BODY_ZH = PROSE_ZH * 10
BODY_EN = PROSE_EN * 10


_ALL = (CnStateSecretDetector(), CnWorkSecretDetector(), UsClassificationDetector(), CorporateMarkingDetector())
_BOTH = tuple(Engine(_ALL, backend=b) for b in BACKENDS)


@pytest.fixture(scope="module", params=_BOTH, ids=BACKENDS)
def engine(request: pytest.FixtureRequest) -> Engine:
    return request.param


def scan(engine: Engine, text: str, **kw: object) -> list[tuple[str, str, dict[str, object]]]:
    return [(m.detector, m.value, m.attributes) for m in engine.scan(Segment(text=text, path="doc.txt", **kw))]


def ids(engine: Engine, text: str, **kw: object) -> list[str]:
    return [d for d, _, _ in scan(engine, text, **kw)]


# --- marking.cn_state_secret ------------------------------------------------------------

@pytest.mark.parametrize(
    ("line", "level", "period"),
    [
        ("机密★5年", "机密", "5年"),
        ("绝密★长期", "绝密", "长期"),
        ("秘密★6个月", "秘密", "6个月"),
        ("机密★10年", "机密", "10年"),
        ("机密★2027年12月31日", "机密", "2027年12月31日"),
        ("秘密★项目完成后解密", "秘密", "项目完成后解密"),
        ("机密★", "机密", None),
        ("机密 ★ 5年", "机密", "5年"),
        ("秘密\u3000★\u30003年", "秘密", "3年"),
        ("绝密☆长期", "绝密", "长期"),
        ("机密＊10年", "机密", "10年"),
        ("絕密★長期", "绝密", "长期"),
        ("機密★5年", "机密", "5年"),
        ("秘密★五年", "秘密", "五年"),
    ],
)
def test_legal_forms_anywhere_at_line_start(engine: Engine, line: str, level: str, period: str | None) -> None:
    for text in (f"{line}\n\n{BODY_ZH}", f"{BODY_ZH}{line}\n{BODY_ZH}", f"{BODY_ZH}{line} 关于加强管理的通知\n{BODY_ZH}"):
        found = scan(engine, text)
        assert [(d, a["level"], a["period"], a["form"]) for d, _, a in found] == [
            ("marking.cn_state_secret", level, period, "legal")
        ], text[:80]


def test_severity_follows_level(engine: Engine) -> None:
    by_level = {
        m.attributes["level"]: m.severity
        for text in ("绝密★长期\n", "机密★5年\n", "秘密★1年\n")
        for m in engine.scan(Segment(text=text + BODY_ZH, path="d"))
    }
    assert by_level == {"绝密": Severity.CRITICAL, "机密": Severity.HIGH, "秘密": Severity.HIGH}


def test_companions_on_the_marking_line(engine: Engine) -> None:
    assert ids(engine, "份号：000123  机密★5年\n" + BODY_ZH) == ["marking.cn_state_secret"]
    assert ids(engine, "000123\n秘密\n特急\n" + BODY_ZH) == ["marking.cn_state_secret"]
    found = scan(engine, BODY_ZH + "密级：机密  保密期限：10年\n" + BODY_ZH)  # labelled: counts anywhere
    assert [(a["level"], a["period"], a["form"]) for _, _, a in found] == [("机密", "10年", "label")]
    assert ids(engine, BODY_ZH + "密級：絕密\n" + BODY_ZH) == ["marking.cn_state_secret"]


def test_labelled_level_with_a_declassification_condition(engine: Engine) -> None:
    found = scan(engine, BODY_ZH + "密级：秘密  保密期限：项目验收后解密\n" + BODY_ZH)
    assert [(a["level"], a["period"]) for _, _, a in found] == [("秘密", "项目验收后解密")]


def test_a_list_of_the_levels_is_not_a_marking(engine: Engine) -> None:
    assert ids(engine, "密级分为：\n绝密\n机密\n秘密\n" + BODY_ZH) == []
    assert ids(engine, "Classification levels:\nTOP SECRET\nSECRET\nCONFIDENTIAL\n" + BODY_EN) == []
    assert ids(engine, "Levels:\n- TOP SECRET\n- SECRET\n- CONFIDENTIAL\n" + BODY_EN) == []
    assert ids(engine, "密级分为：\n一、绝密\n二、机密\n三、秘密\n" + BODY_ZH) == []


def test_bare_level_counts_in_head_and_foot_only(engine: Engine) -> None:
    assert ids(engine, "秘密\n\n某市某局文件\n" + BODY_ZH) == ["marking.cn_state_secret"]
    assert ids(engine, BODY_ZH + "秘密\n") == ["marking.cn_state_secret"]
    assert ids(engine, BODY_ZH + "秘密\n" + BODY_ZH) == []


def test_other_line_breaks(engine: Engine) -> None:
    assert ids(engine, "秘密\r\n\r\n" + BODY_ZH.replace("\n", "\r\n")) == ["marking.cn_state_secret"]
    assert ids(engine, "内部资料\v" + BODY_ZH) == ["marking.cn_work_secret"]
    assert ids(engine, "Company Confidential\u2028" + BODY_EN) == ["marking.corporate"]
    assert ids(engine, "SECRET//NOFORN\r\n" + BODY_EN) == ["marking.us_classification"]


def test_zero_width_characters_and_byte_order_marks(engine: Engine) -> None:
    assert ids(engine, "\ufeff秘密\n" + BODY_ZH) == ["marking.cn_state_secret"]
    assert ids(engine, "\u200b内部资料\u200b\n" + BODY_ZH) == ["marking.cn_work_secret"]
    assert ids(engine, "\ufeffCompany Confidential\n" + BODY_EN) == ["marking.corporate"]


def test_page_breaks_make_page_heads_and_feet(engine: Engine) -> None:
    assert ids(engine, BODY_ZH + "\f机密\n" + BODY_ZH) == ["marking.cn_state_secret"]
    assert ids(engine, BODY_ZH + "机密\n\f" + BODY_ZH) == ["marking.cn_state_secret"]


def test_header_part_and_chunks(engine: Engine) -> None:
    text = BODY_ZH + "机密\n" + BODY_ZH
    assert [a["form"] for _, _, a in scan(engine, text, part="header")] == ["header"]
    assert [a["form"] for _, _, a in scan(engine, text, part="first-page-footer")] == ["footer"]
    assert ids(engine, text, part="body") == []
    # a middle chunk of a large file touches neither the document start nor its end
    assert ids(engine, "机密\n" + BODY_ZH, at_start=False) == []
    assert ids(engine, "机密\n" + BODY_ZH, at_start=True) == ["marking.cn_state_secret"]
    # a marking wholly inside the overlap was reported by the previous chunk
    assert ids(engine, "机密★5年\n" + BODY_ZH, count_from=10) == []


@pytest.mark.parametrize(
    "text",
    [
        "国家秘密的密级分为绝密、机密、秘密三级。\n",
        "机关、单位应当依法确定国家秘密的密级、保密期限和知悉范围。\n",
        "培训材料：密级标志一般标注在首页左上角，例如“秘密★1年”。\n",
        "「机密★5年」\n",
        "“秘密★1年”\n",
        "绝密文件管理办法\n",
        "机密★5年表示该文件的保密期限为五年。\n",
        "《绝密★长期》\n",
        "这份文件是秘密\n",
        "保守秘密\n",
        "机密编号\n",
    ],
)
def test_state_secret_words_in_prose_are_not_markings(engine: Engine, text: str) -> None:
    assert ids(engine, text + BODY_ZH) == []
    assert ids(engine, BODY_ZH + text + BODY_ZH) == []


# --- marking.cn_work_secret -------------------------------------------------------------

@pytest.mark.parametrize(
    ("line", "label"),
    [
        ("工作秘密", "工作秘密"),
        ("内部", "内部"),
        ("内部资料", "内部资料"),
        ("内部资料 注意保存", "内部资料 注意保存"),
        ("注意保存", "注意保存"),
        ("内部文件", "内部文件"),
        ("内部使用", "内部使用"),
        ("內部資料", "内部资料"),
        ("  内部  ", "内部"),
        ("内部资料，注意保存", "内部资料 注意保存"),
        ("内部资料（注意保存）", "内部资料 注意保存"),
        ("内部资料 严禁外传", "内部资料"),
    ],
)
def test_work_secret_markings(engine: Engine, line: str, label: str) -> None:
    head = scan(engine, f"{line}\n\n某某单位关于调整内部机构设置的请示\n{BODY_ZH}")
    assert [(d, a["label"]) for d, _, a in head] == [("marking.cn_work_secret", label)]
    assert ids(engine, f"{BODY_ZH}{line}\n") == ["marking.cn_work_secret"]
    assert ids(engine, f"{BODY_ZH}{line}\n{BODY_ZH}") == []  # own line, but mid-document


def test_work_secret_legal_and_labelled_forms(engine: Engine) -> None:
    found = scan(engine, BODY_ZH + "工作秘密★1年\n" + BODY_ZH)
    assert [(a["label"], a["period"], a["form"]) for _, _, a in found] == [("工作秘密", "1年", "legal")]
    assert ids(engine, BODY_ZH + "密级：内部\n" + BODY_ZH) == ["marking.cn_work_secret"]


@pytest.mark.parametrize(
    "text",
    [
        "某某单位关于调整内部机构设置的请示\n",
        "加强内部控制，完善内部管理制度。\n",
        "各部门要重视内部资料的管理。\n",
        "这是内部\n资料\n",
        "内部编号\t姓名\t电话\n",
        "内部编号\n",
    ],
)
def test_internal_in_prose_is_not_a_marking(engine: Engine, text: str) -> None:
    assert ids(engine, text + BODY_ZH) == []


# --- marking.us_classification ----------------------------------------------------------

def test_banners_top_and_bottom(engine: Engine) -> None:
    text = "TOP SECRET//NOFORN\n\n(U) The library will be closed on public holidays.\n\nTOP SECRET//NOFORN\n"
    found = scan(engine, text)
    assert [(v, a["level"], a["caveats"]) for _, v, a in found] == [
        ("TOP SECRET//NOFORN", "TOP SECRET", ["NOFORN"]),
        ("TOP SECRET//NOFORN", "TOP SECRET", ["NOFORN"]),
    ]
    assert {m.severity for m in engine.scan(Segment(text=text, path="d"))} == {Severity.CRITICAL}


@pytest.mark.parametrize(
    ("line", "level", "caveats"),
    [
        ("SECRET", "SECRET", []),
        ("CONFIDENTIAL", "CONFIDENTIAL", []),
        ("SECRET//REL TO USA, FVEY", "SECRET", ["REL TO USA, FVEY"]),
        ("TOP SECRET//SI//ORCON//NOFORN", "TOP SECRET", ["SI", "ORCON", "NOFORN"]),
        ("TOP\xa0SECRET // NOFORN", "TOP SECRET", ["NOFORN"]),
        ("CLASSIFICATION: SECRET", "SECRET", []),
        ("  SECRET        Page 3 of 10", "SECRET", []),
        ("UNCLASSIFIED//FOR OFFICIAL USE ONLY", "UNCLASSIFIED", ["FOUO"]),
    ],
)
def test_banner_lines(engine: Engine, line: str, level: str, caveats: list[str]) -> None:
    found = scan(engine, f"{line}\n{BODY_EN}")
    assert [(d, a["level"], a["caveats"]) for d, _, a in found] == [("marking.us_classification", level, caveats)]


def test_banners_on_every_page(engine: Engine) -> None:
    page = "SECRET\n\n(S) The vendor confirmed delivery.\n" + PROSE_EN * 8 + "\nSECRET\n"
    found = scan(engine, "\f".join([page] * 3))
    assert [v for _, v, _ in found] == ["SECRET", "(S)", "SECRET"] * 3


def test_labelled_banner_counts_anywhere_unlabelled_only_at_edges(engine: Engine) -> None:
    assert ids(engine, BODY_EN + "Classification: TOP SECRET\n" + BODY_EN) == ["marking.us_classification"]
    assert ids(engine, BODY_EN + "SECRET\n" + BODY_EN) == []
    assert ids(engine, BODY_EN + "\fSECRET\n" + BODY_EN) == ["marking.us_classification"]


@pytest.mark.parametrize(
    ("mark", "level", "caveats"),
    [
        ("(TS)", "TOP SECRET", []),
        ("(S)", "SECRET", []),
        ("(C)", "CONFIDENTIAL", []),
        ("(S//NF)", "SECRET", ["NOFORN"]),
        ("(TS//SCI)", "TOP SECRET", ["SCI"]),
        ("(U//FOUO)", "UNCLASSIFIED", ["FOUO"]),
    ],
)
def test_portion_marks_anywhere(engine: Engine, mark: str, level: str, caveats: list[str]) -> None:
    for prefix in ("", "1. ", "  "):
        found = scan(engine, f"{BODY_EN}{prefix}{mark} The vendor confirmed delivery.\n{BODY_EN}")
        assert [(v, a["level"], a["caveats"], a["form"]) for _, v, a in found] == [(mark, level, caveats, "portion")]


@pytest.mark.parametrize(
    "text",
    [
        "(U) The library will be closed on public holidays.\n",
        "UNCLASSIFIED\n",
        "Please check the item (s) listed below.\n",
        "(a) first item\n(b) second item\n",
        "(S)-ibuprofen is the active enantiomer.\n",
        "(C) 2024 Acme Corporation. All rights reserved.\n",
        "(C) Copyright Acme\n",
        "(A) Paris\n(B) London\n(C) Berlin\n(D) Rome\n",
        "SECRET SANTA party\n",
        "The memo, once stamped TOP SECRET, was declassified in 2011.\n",
        "AWS_SECRET_ACCESS_KEY=abc\nCLIENT_SECRET = 'x'\n",
        "Top Secret\n",
        "“TOP SECRET”\n",
    ],
)
def test_not_us_classification(engine: Engine, text: str) -> None:
    assert "marking.us_classification" not in ids(engine, text + BODY_EN)


# --- marking.corporate ------------------------------------------------------------------

@pytest.mark.parametrize(
    ("line", "label"),
    [
        ("Company Confidential", "Company Confidential"),
        ("Proprietary and Confidential", "Proprietary and Confidential"),
        ("PROPRIETARY & CONFIDENTIAL", "Proprietary and Confidential"),
        ("Strictly Confidential", "Strictly Confidential"),
        ("Internal Use Only", "Internal Use Only"),
        ("For Internal Use Only", "Internal Use Only"),
        ("Internal Only", "Internal Only"),
        ("Restricted", "Restricted"),
        ("Confidential", "Confidential"),
        ("Confidential - Do Not Distribute", "Confidential"),
        ("CONFIDENTIAL – DO NOT FORWARD", "Confidential"),
        ("Confidential – Internal Use Only", "Confidential"),
        ("Acme Corp | Company Confidential | Page 3", "Company Confidential"),
        ("© 2024 Acme Corp. Confidential", "Confidential"),
        ("Sensitivity: Internal", "Internal"),
        ("公司机密", "公司机密"),
        ("商业秘密", "商业秘密"),
        ("内部公开", "内部公开"),
        ("仅限内部使用", "仅限内部使用"),
        ("严格保密", "严格保密"),
        ("公司機密", "公司机密"),
        ("商業秘密", "商业秘密"),
    ],
)
def test_corporate_markings(engine: Engine, line: str, label: str) -> None:
    for text in (f"{line}\n{BODY_EN}", f"{BODY_EN}{line}\n"):
        found = scan(engine, text)
        assert [(d, a["label"]) for d, _, a in found] == [("marking.corporate", label)], text[:60]


def test_corporate_anywhere_when_labelled_or_starred(engine: Engine) -> None:
    assert ids(engine, BODY_EN + "Classification: Confidential\n" + BODY_EN) == ["marking.corporate"]
    assert ids(engine, BODY_ZH + "商密★5年\n" + BODY_ZH) == ["marking.corporate"]
    assert ids(engine, BODY_EN + "Company Confidential\n" + BODY_EN) == []


@pytest.mark.parametrize(
    "text",
    [
        "All customer information is kept confidential in accordance with our privacy policy.\n",
        "Internal audit found three issues.\n",
        "The Confidential Report\n",
        "Access to this area is restricted\n",
        "各单位要依法保护商业秘密。\n",
        "对上述信息严格保密\n",
        "CONFIDENTIAL\n",  # all capitals alone: a US banner, not a corporate label
    ],
)
def test_not_corporate(engine: Engine, text: str) -> None:
    assert "marking.corporate" not in ids(engine, text + BODY_EN)


# --- the four together -------------------------------------------------------------------

@pytest.mark.parametrize(
    ("line", "detector"),
    [
        ("公司机密", "marking.corporate"),
        ("商业秘密", "marking.corporate"),
        ("仅限内部使用", "marking.corporate"),
        ("工作秘密", "marking.cn_work_secret"),
        ("机密", "marking.cn_state_secret"),
        ("CONFIDENTIAL", "marking.us_classification"),
        ("Confidential", "marking.corporate"),
    ],
)
def test_one_finding_per_marking_from_the_right_family(engine: Engine, line: str, detector: str) -> None:
    assert ids(engine, f"{line}\n{BODY_ZH}") == [detector]


def test_repeated_page_markings_are_each_found(engine: Engine) -> None:
    page = "机密★5年\n" + PROSE_ZH * 3
    assert ids(engine, "\f".join([page] * 3)) == ["marking.cn_state_secret"] * 3


def test_backends_agree_on_every_case() -> None:
    texts = [
        "绝密★6个月\n\n" + BODY_ZH, BODY_ZH + "\f秘密\n", "TOP SECRET//NOFORN\n(S) x y\n", "公司机密\n",
        "国家秘密的密级分为绝密、机密、秘密三级。\n", "Company Confidential\n" + BODY_EN, "内部\n" + BODY_ZH,
        "(C) 2024 Acme\n", "SECRET SANTA party\n" * 5, "  Internal Use Only  \r\n" + BODY_EN,
    ]
    hs, rx = _BOTH
    for text in texts:
        seg = Segment(text=text, path="d")
        assert [(m.detector, m.start, m.end) for m in hs.scan(seg)] == [
            (m.detector, m.start, m.end) for m in rx.scan(seg)
        ], text[:40]


def test_legacy_encodings_through_extraction(engine: Engine) -> None:
    """GB18030, Big5 and UTF-16 files are decoded by extraction; the markings survive."""
    big5_body = "本週五下午三點在三樓會議室召開部門例會，請準時參加。\n" * 10
    cases = (
        ("秘密★长期\n" + BODY_ZH, "gb18030", "marking.cn_state_secret"),
        ("機密★5年\n\n" + big5_body, "big5", "marking.cn_state_secret"),
        ("內部資料\n\n" + big5_body, "big5", "marking.cn_work_secret"),
        ("SECRET//NOFORN\n" + BODY_EN, "utf-16", "marking.us_classification"),
    )
    for text, encoding, detector in cases:
        found = [
            m.detector
            for seg in extract_bytes(text.encode(encoding), "memo.txt")
            if isinstance(seg, Segment)
            for m in engine.scan(seg)
        ]
        assert found == [detector], encoding


_PIECES = [
    "机密", "秘密", "绝密", "★", "☆", "5年", "长期", "内部", "资料", "注意保存", "工作秘密", "公司", "密级：", "份号",
    "SECRET", "TOP SECRET", "//NOFORN", "CONFIDENTIAL", "Confidential", "Internal Use Only", "(S)", "(C)", "(U//FOUO)",
    "国家秘密的密级分为", "We reviewed the draft.", "“", "”", "「", " ", "\u3000", "\n", "\r\n", "\f", "\v", "x", "2027年12月31日",
]


@settings(max_examples=150, deadline=None)
@given(st.lists(st.sampled_from(_PIECES), max_size=40), st.booleans(), st.booleans(), st.sampled_from(["body", "header"]))
def test_backends_agree_on_arbitrary_mixtures(pieces: list[str], at_start: bool, at_end: bool, part: str) -> None:
    seg = Segment(text="".join(pieces), path="d", at_start=at_start, at_end=at_end, part=part)
    found = [[(m.detector, m.start, m.end, m.value) for m in e.scan(seg)] for e in _BOTH]
    assert found[0] == found[1]
    for _, start, end, value in found[0]:
        assert seg.text[start:end] == value


_CRASH_CHECK = """
import random
from detectors.engine import Engine
from detectors.extract.segment import Segment
from detectors.registry import BUILTIN
rnd = random.Random(5)
texts = ["hello world\\n" * 200, "本周五下午三点在三楼会议室召开部门例会，请准时参加。\\n" * 200,
         "".join(chr(rnd.randrange(32, 0x9fff)) for _ in range(20000)),
         "机密 ★ 5年\\n公司机密\\u3000\\nTOP SECRET//NOFORN\\n(S) x\\n内部资料（注意保存）\\n" * 50]
for detectors in ([c() for k, c in BUILTIN.items() if k.startswith("marking.")], [c() for c in BUILTIN.values()]):
    engine = Engine(detectors, backend="hyperscan")
    for t in texts:
        engine.scan(Segment(text=t, path="x"))
print("ok")
"""


def test_hyperscan_scans_the_marking_prefilters_without_crashing() -> None:
    """Some prefilter shapes make hs_scan segfault (see layout.py): run them in a child process."""
    root = Path(__file__).resolve().parents[2]
    done = subprocess.run([sys.executable, "-c", _CRASH_CHECK], capture_output=True, text=True, timeout=120, cwd=root)
    assert (done.returncode, done.stdout.strip()) == (0, "ok"), done.stderr[-2000:]

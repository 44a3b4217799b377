"""Variants the dev corpus does not show, found with ``tests/detectors/heldout_gen.py``.

Each case runs through the real scanner (default policy: extraction, all built-in
detectors, context pass, confidence floor) on both prefilter backends and checks
what a user would: which detector reported how many findings, and the value.
"""

from __future__ import annotations

import random
from collections import Counter
from pathlib import Path

import pytest

from detectors.scan import Scanner
from tests.detectors import heldout_gen as gen

BACKENDS = ("hyperscan", "regex")
_SCANNERS = {b: Scanner(hash_key=b"test", show_values=True, backend=b) for b in BACKENDS}


@pytest.fixture(params=BACKENDS)
def scanner(request: pytest.FixtureRequest) -> Scanner:
    return _SCANNERS[request.param]


def findings(scanner: Scanner, text: str, name: str = "doc.txt") -> list[tuple[str, str | None]]:
    result = scanner.scan_bytes(text.encode("utf-8"), name)
    assert result.error is None
    return [(f.detector, f.value) for f in result.findings]


def of(scanner: Scanner, text: str, detector: str, name: str = "doc.txt") -> list[str | None]:
    return [v for d, v in findings(scanner, text, name) if d == detector]


ID = "110105199003071239"  # GB 11643 check digit valid (synthetic)
CARD = "6228480402564890018"  # UnionPay, Luhn valid (synthetic)
FW = str.maketrans("0123456789-+", "０１２３４５６７８９－＋")


# --- full-width digits (Chinese input methods) ---------------------------------------------------

@pytest.mark.parametrize(
    ("text", "detector", "value"),
    [
        (f"身份证号：{ID.translate(FW)}", "pii.cn_resident_id", ID),
        ("手机：１３９－１８５９－４６８５", "pii.cn_mobile", "139-1859-4685"),
        ("联系电话 ＋８６ １３９１８５９４６８５。", "pii.cn_mobile", "13918594685"),
        ("手机　１３９　１８５９　４６８５", "pii.cn_mobile", "139 1859 4685"),  # ideographic spaces
        (f"银行卡号：{CARD.translate(FW)}", "pii.payment_card", CARD),
    ],
)
def test_fullwidth_digits_are_found_and_reported_folded(scanner: Scanner, text: str, detector: str, value: str) -> None:
    # the folded value hashes like the ASCII spelling
    assert of(scanner, text, detector) == [value]


@pytest.mark.parametrize(
    "text",
    [
        f"身份证号：{(ID[:17] + '4').translate(FW)}",  # check digit wrong
        "订单号 ２１３９１８５９４６８５１",  # a mobile inside a longer run
        f"银行卡号：{(CARD[:-1] + '9').translate(FW)}",  # Luhn fails
    ],
)
def test_fullwidth_near_misses_stay_quiet(scanner: Scanner, text: str) -> None:
    assert [d for d, _ in findings(scanner, text) if d.startswith("pii.")] == []


# --- resident IDs printed in groups --------------------------------------------------------------

@pytest.mark.parametrize("sep", [" ", "-"])
def test_resident_id_in_three_groups(scanner: Scanner, sep: str) -> None:
    grouped = f"{ID[:6]}{sep}{ID[6:14]}{sep}{ID[14:]}"
    assert of(scanner, f"公民身份号码 {grouped}\n", "pii.cn_resident_id") == [grouped]


@pytest.mark.parametrize(
    ("text", "why"),
    [
        (f"证件号 {ID[:6]} {ID[6:14]}-{ID[14:]}", "mixed separators"),
        (f"编号 {ID[:6]} {ID[6:14]} {ID[14:]} 7", "inside a longer grouped run"),
        (f"证件号 {ID[:6]} {ID[6:14]} {ID[14:17]}4", "check digit wrong"),
    ],
)
def test_grouped_resident_id_near_misses(scanner: Scanner, text: str, why: str) -> None:
    assert of(scanner, text, "pii.cn_resident_id") == [], why


# --- e-mail addresses with accented Latin letters ------------------------------------------------

@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("Contact josé.núñez@correo.es for details.", "josé.núñez@correo.es"),
        ("ZOË.SMITH+BILLING@BÜCHER.DE", "ZOË.SMITH+BILLING@BÜCHER.DE"),
        ("françois@163.com", "françois@163.com"),
        ("联系邮箱zhang.wei@corp-mail.cn", "zhang.wei@corp-mail.cn"),  # CJK is not part of the address
    ],
)
def test_email_with_accented_letters(scanner: Scanner, text: str, value: str) -> None:
    assert of(scanner, text, "pii.email") == [value]


# --- password placeholders and key/value lines ---------------------------------------------------

@pytest.mark.parametrize(
    "line",
    [
        "DB_PASSWORD=your_password_here", "DB_PASSWORD=YOUR_PASSWORD", "password: \"your-password-here\"",
        "password = 'REPLACE_ME'", "PASSWORD=PutYourPasswordHere", "\"password\": \"enter-your-password\",",
    ],
)
def test_fill_in_placeholders_are_not_passwords(scanner: Scanner, line: str) -> None:
    assert of(scanner, line + "\n", "secret.password", "app.env") == []


def test_a_real_value_next_to_placeholder_words_is_still_found(scanner: Scanner) -> None:
    assert of(scanner, "DB_PASSWORD=your-Pass-9x!here\n", "secret.password", "app.env") == ["your-Pass-9x!here"]


@pytest.mark.parametrize(
    ("xml", "name"),
    [
        ('<configuration><appSettings>\n  <add key="DbPassword" value="dm3z%Ar6QW"/>\n'
         '  <add key="Timeout" value="30"/>\n</appSettings></configuration>\n', "web.config"),
        ('<beans><bean id="ds">\n  <property name="username" value="app"/>\n'
         '  <property name="password" value="dm3z%Ar6QW"/>\n</bean></beans>\n', "context.xml"),
    ],
)
def test_password_in_xml_attributes(scanner: Scanner, xml: str, name: str) -> None:
    # extraction turns the element into the line "DbPassword dm3z%Ar6QW"
    assert of(scanner, xml, "secret.password", name) == ["dm3z%Ar6QW"]


@pytest.mark.parametrize(
    "text",
    [
        "Password Manager\n", "The server didn't accept the username/\npassword combination.\n",
        "hence we\npass CERT_SYSTEM_STORE_CURRENT_USER.\n", "bypass 12345678\n", "password ${DB_PASS}\n",
    ],
)
def test_key_value_lines_that_are_not_passwords(scanner: Scanner, text: str) -> None:
    assert of(scanner, text, "secret.password") == []


# --- markings ------------------------------------------------------------------------------------

BODY = "\n\n根据年度工作安排，各部门应于下周三前提交预算草案。\nThe team finished the migration ahead of schedule.\n"


@pytest.mark.parametrize(
    ("head", "detector", "value"),
    [
        ("【机密】", "marking.cn_state_secret", "机密"),
        ("［秘密★5年］", "marking.cn_state_secret", "秘密★5年"),
        ("[Confidential]", "marking.corporate", "Confidential"),
        ("[CONFIDENTIAL]", "marking.us_classification", "CONFIDENTIAL"),  # capitals alone: a US banner
        ("机  密", "marking.cn_state_secret", "机  密"),
        ("绝\u3000密★长期", "marking.cn_state_secret", "绝\u3000密★长期"),
        ("秘 密 ★1年", "marking.cn_state_secret", "秘 密 ★1年"),
        ("公司机密，请勿外传", "marking.corporate", "公司机密"),
        ("内部资料，请勿外传", "marking.cn_work_secret", "内部资料"),
        ("Privileged & Confidential", "marking.corporate", "Privileged & Confidential"),
        ("Confidential - Attorney Client Privileged", "marking.corporate", "Confidential"),
    ],
)
def test_marking_variants_in_the_head(scanner: Scanner, head: str, detector: str, value: str) -> None:
    got = [(d, v) for d, v in findings(scanner, head + BODY) if d.startswith("marking.")]
    assert got == [(detector, value)]


@pytest.mark.parametrize(
    "text",
    [
        "培训材料：密级标志一般标注在首页左上角，例如“机密★10年”。",  # quoted, not bracketed
        "《绝密档案》是一部电视剧。\n",
        "有机 密封胶的使用说明\n",
        "Confidential and privileged information may be contained below.\n",
        "The CUI program replaced FOUO markings in 2016.\n",
    ],
)
def test_marking_words_in_prose_stay_quiet(scanner: Scanner, text: str) -> None:
    assert [d for d, _ in findings(scanner, text + BODY) if d.startswith("marking.")] == []


@pytest.mark.parametrize("banner", ["CUI", "CUI//SP-PRVCY", "CONTROLLED UNCLASSIFIED INFORMATION", "UNCLASSIFIED//CUI"])
def test_cui_banners_are_reported_like_fouo(scanner: Scanner, banner: str) -> None:
    result = scanner.scan_bytes((banner + BODY + "\n" + banner + "\n").encode(), "memo.txt")
    marks = [f for f in result.findings if f.detector == "marking.us_classification"]
    assert len(marks) == 2
    assert all(f.attributes["level"] == "UNCLASSIFIED" and "CUI" in f.attributes["caveats"] for f in marks)


def test_cui_portion_marks(scanner: Scanner) -> None:
    text = "Memo\n\n(CUI) The contract values are listed below.\n(U) Lunch is served at noon.\n(U//CUI) Staff list.\n"
    assert of(scanner, text, "marking.us_classification") == ["(CUI)", "(U//CUI)"]


def test_plain_unclassified_is_still_not_reported(scanner: Scanner) -> None:
    assert of(scanner, "UNCLASSIFIED" + BODY, "marking.us_classification") == []


# --- a whole generated corpus --------------------------------------------------------------------

def test_generated_corpus_matches_its_labels(tmp_path: Path) -> None:
    """Every file of a small held-out corpus gets exactly the labelled detectors and counts."""
    seed = random.randrange(1 << 30)  # a fresh corpus each run; the seed reproduces a failure
    labels = gen.generate(tmp_path, seed=seed, per_kind=2)
    scanner = _SCANNERS["hyperscan"]
    wrong = []
    for rel, label in labels.items():
        result = scanner.scan_path(tmp_path / rel)
        assert result.error is None, rel
        got = Counter(f.detector for f in result.findings if f.family in ("pii", "secret", "marking"))
        want = label["expect"]
        for det in set(got) | set(want):
            expected = want.get(det, 0)
            if (got[det] == 0) if expected is None else (got[det] != expected):
                wrong.append(f"{rel}: {det} expected {expected}, got {got[det]}")
    assert wrong == [], f"heldout_gen seed {seed}"

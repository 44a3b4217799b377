"""Round-2 fixes through the real Scanner (default policy), with both prefilter backends:
exclusion words no longer hide checksum-valid values, Traditional Chinese context
words, 解密条件/解密时间 marking forms and 文件密级 headers, crowded marking input."""

from __future__ import annotations

import re

import pytest

from detectors.findings import Finding
from detectors.pii.cn_mobile import CnMobileDetector
from detectors.pii.cn_resident_id import CnResidentIdDetector
from detectors.pii.email import EmailDetector
from detectors.pii.iban import IbanDetector
from detectors.pii.payment_card import PaymentCardDetector
from detectors.pii.us_ssn import UsSsnDetector
from detectors.policy import load_policy
from detectors.scan import Scanner
from detectors.secrets.password import PasswordDetector
from detectors.validators import gb11643_check_digit, luhn

BACKENDS = ("hyperscan", "regex")

ID = "110101199003071233"
assert gb11643_check_digit(ID[:17]) == ID[-1]
CARD = "6222020200112345679"  # UnionPay, 19 digits
assert luhn(CARD)
IBAN = "GB94BARC10201530093459"


@pytest.fixture(scope="module", params=BACKENDS)
def scanner(request: pytest.FixtureRequest) -> Scanner:
    return Scanner(load_policy(None), hash_key=b"test", backend=request.param, show_values=True)


def scan(scanner: Scanner, text: str, name: str = "notes.txt") -> list[Finding]:
    return scanner.scan_text(text, name)


def of(findings: list[Finding], detector: str) -> list[Finding]:
    return [f for f in findings if f.detector == detector]


# --- 1. exclusion words do not drop checksum-valid values ------------------------------------

@pytest.mark.parametrize(
    ("text", "detector"),
    [
        (f"张三 身份证 {ID} e.g.", "pii.cn_resident_id"),
        (f"{ID} 示例", "pii.cn_resident_id"),
        (f"卡号 {CARD}（示例）", "pii.payment_card"),
        (f"{CARD} for example", "pii.payment_card"),
        (f"IBAN {IBAN} e.g.", "pii.iban"),
        ("SSN 536-22-1894, for example", "pii.us_ssn"),
    ],
)
def test_exclusion_word_lowers_checksum_valid_values(scanner: Scanner, text: str, detector: str) -> None:
    quiet = text.replace(" e.g.", "").replace(" 示例", "").replace("（示例）", "").replace(", for example", "")
    quiet = quiet.replace(" for example", "")
    plain = of(scan(scanner, quiet), detector)
    marked = of(scan(scanner, text), detector)
    assert len(plain) == len(marked) == 1
    assert marked[0].attributes.get("context") == "exclusion"
    assert 0.5 <= marked[0].confidence < plain[0].confidence


@pytest.mark.parametrize(
    "text",
    [
        "aws_access_key_id = AKIAIOSFODNN7EXAMPLE  # e.g.",
        "card 4111 1111 1111 1111 e.g.",
        "卡号 4111111111111111 示例",
        "IBAN DE89 3704 0044 0532 0130 00 for example",
        "Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIiwiaWF0IjoxNTE2MjM5MDIyfQ.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c  # example",
        "身份证号 11010519491231002X 示例",
        "SSN 078-05-1120 e.g.",
        "password = \"changeme123\"  # example",
        "password: example-Pass1!  # example",
        "mobile 13912345679 e.g.",
        "mail zhang.wei@corp-mail.cn 示例",
    ],
)
def test_documented_examples_and_stand_ins_stay_quiet(scanner: Scanner, text: str) -> None:
    assert scan(scanner, text) == []


def test_strong_password_next_to_example_is_kept_less_sure(scanner: Scanner) -> None:
    plain = of(scan(scanner, 'password = "Kq7!vLz93mWp"', "app.conf"), "secret.password")
    marked = of(scan(scanner, 'password = "Kq7!vLz93mWp" # example', "app.conf"), "secret.password")
    assert len(plain) == len(marked) == 1
    assert marked[0].attributes["context"] == "exclusion"
    assert marked[0].confidence < plain[0].confidence


# --- 2. Traditional Chinese context words ----------------------------------------------------

def test_traditional_password_label(scanner: Scanner) -> None:
    for text in ("密碼：Zhang@2024!abc", "管理員密碼為 Zhang@2024!abc", "資料庫密碼: Zhang@2024!abc"):
        assert [f.value for f in of(scan(scanner, text), "secret.password")] == ["Zhang@2024!abc"], text


@pytest.mark.parametrize(
    ("simplified", "traditional", "value", "detector"),
    [
        ("身份证", "身份證", ID, "pii.cn_resident_id"),
        ("手机", "手機", "13912345679", "pii.cn_mobile"),
        ("电话", "電話", "13912345679", "pii.cn_mobile"),
        ("卡号", "卡號", CARD, "pii.payment_card"),
        ("银行卡", "銀行卡", CARD, "pii.payment_card"),
        ("信用卡号", "信用卡號", CARD, "pii.payment_card"),
        ("账号", "帳號", IBAN, "pii.iban"),
    ],
)
def test_traditional_hotwords_count_like_simplified(
    scanner: Scanner, simplified: str, traditional: str, value: str, detector: str
) -> None:
    bare = of(scan(scanner, f"记录 {value} 完"), detector)
    s = of(scan(scanner, f"{simplified}：{value}"), detector)
    t = of(scan(scanner, f"{traditional}：{value}"), detector)
    assert len(bare) == len(s) == len(t) == 1
    assert t[0].confidence == s[0].confidence > bare[0].confidence


def test_traditional_order_label_marks_a_number_as_no_card(scanner: Scanner) -> None:
    assert of(scan(scanner, f"訂單 {CARD}"), "pii.payment_card") == []
    assert of(scan(scanner, f"订单 {CARD}"), "pii.payment_card") == []


def test_traditional_ssn_word(scanner: Scanner) -> None:
    assert [f.value for f in of(scan(scanner, "社會安全號 536221894"), "pii.us_ssn")] == ["536221894"]


#: Simplified -> Traditional for the characters the detectors' Chinese words use
_S2T = str.maketrans(
    "证号码件机电话联系拨银卡记储邮账户汇订单编运递学会录认员数据库为样测试联致",
    "證號碼件機電話聯繫撥銀卡記儲郵賬戶匯訂單編運遞學會錄認員數據庫為樣測試聯致",
)


@pytest.mark.parametrize(
    "cls", [CnMobileDetector, CnResidentIdDetector, EmailDetector, IbanDetector, PaymentCardDetector,
            UsSsnDetector, PasswordDetector],
)
def test_every_simplified_word_has_its_traditional_form(cls: type) -> None:
    for words in (cls.hotwords, cls.exclusions):
        for w in words:
            if re.search("[\u4e00-\u9fff]", w):
                assert w.translate(_S2T) in words, (cls.id, w)


# --- 3. 解密条件 / 解密时间 forms and 文件密级 header labels ---------------------------------------

_BODY = "\n".join(f"第{i}条 各部门应按本办法落实相关工作要求。" for i in range(12))


@pytest.mark.parametrize(
    ("text", "level", "period"),
    [
        ("机密★解密条件：项目验收后", "机密", "解密条件：项目验收后"),
        ("秘密★解密条件:合同终止后", "秘密", "解密条件:合同终止后"),
        ("绝密★解密时间：2030年12月31日", "绝密", "解密时间：2030年12月31日"),
        ("機密★解密時間：2030年12月31日", "机密", "解密时间：2030年12月31日"),
        ("机密★项目结束后解密", "机密", "项目结束后解密"),
    ],
)
def test_decryption_condition_and_time_forms(scanner: Scanner, text: str, level: str, period: str) -> None:
    fs = of(scan(scanner, f"{_BODY}\n{text}\n{_BODY}"), "marking.cn_state_secret")
    assert [(f.attributes["level"], f.attributes["period"], f.attributes["form"]) for f in fs] == [
        (level, period, "legal")
    ]


def test_separate_decryption_time_after_a_label(scanner: Scanner) -> None:
    fs = of(scan(scanner, "密级：机密 解密时间：2030年12月31日\n" + _BODY), "marking.cn_state_secret")
    assert [f.attributes["period"] for f in fs] == ["解密时间：2030年12月31日"]


@pytest.mark.parametrize("label", ["文件密级：", "文件密級：", "文档密级:", "密级："])
def test_document_header_labels_at_the_head(scanner: Scanner, label: str) -> None:
    fs = of(scan(scanner, f"{label}秘密\n{_BODY}"), "marking.cn_state_secret")
    assert [(f.attributes["level"], f.attributes["form"]) for f in fs] == [("秘密", "label")]


@pytest.mark.parametrize(
    "text",
    [
        f"{_BODY}\n文件密级：秘密\n{_BODY}",  # in the body of the page, not its header block
        "根据规定，本文件密级：秘密，请妥善保管。",  # in a sentence
        "培训材料：例如“机密★解密条件：项目验收后”。",  # quoted
    ],
)
def test_header_labels_and_conditions_in_prose_are_no_marking(scanner: Scanner, text: str) -> None:
    assert of(scan(scanner, text), "marking.cn_state_secret") == []


# --- 5. narrow verification windows and anchored password forms -------------------------------

@pytest.mark.parametrize(
    ("text", "detector", "value", "confidence"),
    [
        ("电话 0086-139-1234-5679 转", "pii.cn_mobile", "139-1234-5679", 1.0),
        ("call +86 13912345679 now", "pii.cn_mobile", "13912345679", 0.7),
        ("x ００８６－１３９－１２３４－５６７９ y", "pii.cn_mobile", "139-1234-5679", 0.7),
        ("x ＋８６　１３９　１２３４　５６７９ y", "pii.cn_mobile", "139 1234 5679", 0.7),
        ("x １１０１０１１９９００３０７１２３３ y", "pii.cn_resident_id", ID, 0.75),
        ("x １１０１０１　１９９００３０７　１２３３ y", "pii.cn_resident_id", "110101 19900307 1233", 0.75),
        ("x ６２２２　０２０２　００１１　２３４５　６７９ y", "pii.payment_card", "6222 0202 0011 2345 679", 0.65),
        ("x 6222-0202-0011-2345-679 y", "pii.payment_card", "6222-0202-0011-2345-679", 0.65),
        (".6222020200112345679", "pii.payment_card", CARD, 0.65),
        (f"SSN{' ' * 40}536221894", "pii.us_ssn", "536221894", 0.9),
        ("aws_secret_access_key" + " " * 38 + "= wJalrXUtnFEMI/K7MDENG/bPxRfiCYzQ8vLm2Tk9", "secret.aws_secret_key",
         "wJalrXUtnFEMI/K7MDENG/bPxRfiCYzQ8vLm2Tk9", 0.85),
    ],
)
def test_values_reach_past_the_prefilter_hit(
    scanner: Scanner, text: str, detector: str, value: str, confidence: float
) -> None:
    fs = of(scan(scanner, text), detector)
    assert [(f.value, round(f.confidence, 2)) for f in fs] == [(value, confidence)]


def test_values_running_on_past_the_window_are_not_cut(scanner: Scanner) -> None:
    # a longer digit run or token: the boundary check must see the character after the window
    assert of(scan(scanner, f"x {ID}7 y"), "pii.cn_resident_id") == []
    assert of(scan(scanner, "AKIAQWERTYUIOPASDFGHJ2"), "secret.aws_access_key") == []
    assert of(scan(scanner, "x 13912345679１ y"), "pii.cn_mobile") == []


_PW_PIECES = ["password", "Password", "PWD", "pass", "passwd", "db_", "DB.", "$", "@", "-", " = ", ": ", "=", '"', "'",
              "Kq7!vLz9", "\n", " ", "\t", "--", "://", "user:", "@host", "(", ")", "set", "<", ">", "define('", "', ",
              "passphrase", "Z9", "\r\n", "login u ", "x"]


@pytest.mark.parametrize("seed", range(4))
def test_anchored_password_forms_find_what_finditer_finds(seed: int) -> None:
    import random

    import detectors.secrets.password as pw
    from detectors.extract.segment import Segment

    rnd, det = random.Random(seed), PasswordDetector()
    for _ in range(300):
        text = "".join(rnd.choice(_PW_PIECES) for _ in range(rnd.randint(1, 40)))
        seg = Segment(text=text, path=rnd.choice(["app.py", "app.conf"]))
        a = rnd.randint(0, len(text))
        b = rnd.randint(a, len(text))
        fast = [(m.start, m.value) for m in det.verify(seg, a, b)]
        # the reference: every form's regex over the whole window
        starts, pw._starts = pw._starts, lambda *args: None
        try:
            slow = [(m.start, m.value) for m in det.verify(seg, a, b)]
        finally:
            pw._starts = starts
        assert fast == slow, (text, a, b)


# --- 4. text crowded with marking candidates ----------------------------------------------------

def test_crowded_file_keeps_its_head_and_foot_markings(scanner: Scanner, tmp_path) -> None:
    # 5 000 bare levels one per line in the body: each used to cost a full layout analysis
    path = tmp_path / "crowded.txt"
    path.write_text("机密★5年\n关于项目的通知\n" + "秘密\n" * 5000 + "正文结束。\n秘密\n", encoding="utf-8")
    result = scanner.scan_path(path)
    fs = of(result.findings, "marking.cn_state_secret")
    assert [(f.location.line, f.attributes["form"]) for f in fs] == [(1, "legal"), (5004, "banner")]


def test_crowded_long_line_keeps_the_marking_on_the_next_line(scanner: Scanner) -> None:
    text = "说明 " + "秘密 机密 " * 3000 + "\n绝密★长期\n正文"
    fs = of(scan(scanner, text), "marking.cn_state_secret")
    assert [(f.attributes["level"], f.attributes["form"]) for f in fs] == [("绝密", "legal")]


def test_a_few_body_candidates_are_all_judged(scanner: Scanner) -> None:
    text = _BODY + "\n" + "秘密\n" * 10 + "机密★5年 关于……的通知\n" + _BODY
    fs = of(scan(scanner, text), "marking.cn_state_secret")
    assert [f.value for f in fs] == ["机密★5年"]


def test_scanning_the_same_segment_twice_gives_the_same_findings() -> None:
    from detectors.engine import Engine
    from detectors.extract.segment import Segment
    from detectors.markings.cn_state_secret import CnStateSecretDetector

    engine = Engine([CnStateSecretDetector()])
    seg = Segment(text="秘密\n" + "abc\n" * 3 + "秘密\n" * 300 + "正文。\n" * 8 + "机密\n", path="t.txt")
    first = [(m.start, m.value) for m in engine.scan(seg)]
    assert first == [(m.start, m.value) for m in engine.scan(seg)]
    assert [v for _, v in first] == ["秘密", "机密"]  # head and foot banners; the body list is skipped

"""PII detectors through the real engine, with both prefilter backends.

Positives in the shapes people write them (Chinese and English text, tables,
grouped digits), and the near misses that matter: order numbers, digit runs
inside longer runs or alphanumeric tokens, failed checksums, documented
examples.
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from detectors.engine import Engine
from detectors.extract.segment import Segment
from detectors.findings import Severity
from detectors.pii.cn_mobile import CnMobileDetector
from detectors.pii.cn_resident_id import CnResidentIdDetector
from detectors.pii.email import EmailDetector
from detectors.pii.iban import IbanDetector
from detectors.pii.payment_card import PaymentCardDetector, issuer
from detectors.pii.us_ssn import UsSsnDetector
from detectors.validators import gb11643_check_digit
from tests.detectors.test_validators import luhn_complete

BACKENDS = ("hyperscan", "regex")
ALL = (CnResidentIdDetector, CnMobileDetector, PaymentCardDetector, EmailDetector, UsSsnDetector, IbanDetector)

ID = "110105199003071239"  # valid check digit
assert gb11643_check_digit(ID[:17]) == ID[17]
ID_X = "44030619850612109X"


@pytest.fixture(scope="module", params=BACKENDS)
def engine(request: pytest.FixtureRequest) -> Engine:
    return Engine([cls() for cls in ALL], backend=request.param)


def found(engine: Engine, text: str, detector: str | None = None) -> list[str]:
    ms = engine.scan(Segment(text=text, path="t.txt"))
    return [m.value for m in ms if detector is None or m.detector == detector]


# --- pii.cn_resident_id ---------------------------------------------------------------------

@pytest.mark.parametrize(
    "text",
    [
        f"身份证号：{ID}。", f"身份证号{ID}，请核对", f"（{ID}）", f"公民身份号码 {ID_X}",
        f"id,{ID},张三", f"ID: {ID_X.lower()}", f"{ID}\n", f"\"{ID}\"",
    ],
)
def test_resident_id_found_at_cjk_and_punctuation_boundaries(engine: Engine, text: str) -> None:
    assert [v.upper() for v in found(engine, text, "pii.cn_resident_id")] in ([ID], [ID_X])


@pytest.mark.parametrize(
    ("text", "why"),
    [
        (f"订单号 9{ID}", "inside a longer digit run"),
        (f"订单号 {ID}7", "inside a longer digit run"),
        (f"a{ID}b", "inside a hash-like token"),
        (f"uuid-{ID}f", "followed by a letter"),
        (ID[:17] + "4", "wrong check digit"),
        ("110105199002301232", "30 February"),
        ("编号：370102195209279205", "check digit"),
        ("身份证号 11010519491231002X", "the example printed in GB 11643"),
    ],
)
def test_resident_id_near_misses(engine: Engine, text: str, why: str) -> None:
    assert found(engine, text, "pii.cn_resident_id") == [], why


def test_resident_id_hotword_raises_confidence(engine: Engine) -> None:
    plain = engine.scan(Segment(text=f"记录 {ID} 已归档", path="t"))
    hot = engine.scan(Segment(text=f"身份证号 {ID}", path="t"))
    assert plain and hot and hot[0].confidence > plain[0].confidence
    assert hot[0].severity is Severity.HIGH


# --- pii.cn_mobile ----------------------------------------------------------------------------

@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("手机 18659716638", "18659716638"),
        ("电话：13918594685。", "13918594685"),
        ("联系电话：150 4639 0765", "150 4639 0765"),
        ("手机 186-2913-7028，", "186-2913-7028"),
        ("如有疑问请拨打+86 15579864279咨询。", "15579864279"),
        ("tel +8613918594685", "13918594685"),
        ("电话:86-13918594685，", "13918594685"),
        ("0086-139-1859-4685", "139-1859-4685"),
        ("（19912345670）", "19912345670"),
        ("张三,13918594685,110", "13918594685"),
        ("张三 13918594685 13512345670", "13918594685"),
    ],
)
def test_mobile_found(engine: Engine, text: str, value: str) -> None:
    assert value in found(engine, text, "pii.cn_mobile")


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("工号 12541921363", "12x is not a mobile range"),
        ("订单号 2139185946851", "inside a longer digit run"),
        ("Tracking number 3883558697127889", "inside a longer digit run"),
        (f"身份证 {ID}", "part of an ID number"),
        ("v13918594685x", "inside an alphanumeric token"),
        ("邮箱 13918594685@163.com", "the local part of an e-mail address"),
        ("139 1859-4685", "mixed separators"),
        ("13888888888", "all the same digit"),
        ("ts=8619161099468", "13-digit id that merely starts with 86"),
        ("13800138000", "a well-known sample number"),
        ("手机 18612345678", "a form-filling sample"),
        ("ratio 0.13918594685", "fraction of a decimal number"),
        ("1.13918594685e-3", "fraction of a decimal number"),
        ("电话 0571 139 1859 4685 8", "inside a longer grouped run"),
    ],
)
def test_mobile_near_misses(engine: Engine, text: str, why: str) -> None:
    assert found(engine, text, "pii.cn_mobile") == [], why


# --- pii.payment_card --------------------------------------------------------------------------

CARDS = {
    "visa": luhn_complete("4539148803", 16),
    "mastercard": luhn_complete("5216684847", 16),
    "mastercard2": luhn_complete("2720193846", 16),
    "amex": luhn_complete("37829105", 15),
    "unionpay19": luhn_complete("621230468159", 19),
    "unionpay16": luhn_complete("6228480402", 16),
    "jcb": luhn_complete("3530111842", 16),
    "discover": luhn_complete("6011093582", 16),
    "diners": luhn_complete("30569309", 14),
}


@pytest.mark.parametrize("name", sorted(CARDS))
def test_card_found_contiguous(engine: Engine, name: str) -> None:
    assert found(engine, f"银行卡号：{CARDS[name]}。", "pii.payment_card") == [CARDS[name]]


@pytest.mark.parametrize(
    "text",
    [
        "Please charge card 4434-1925-4122-4823 for the renewal.",
        "cc=5529 8063 5139 6933",
        "银行卡号：3424 682034 17684",
        "Card on file: 3794 942525 16586",
        "请将款项汇至6276-1396-3410-1901。",
        "card 6265 2470 6900 5929 220 end",
        "0.手机.4434-1925-4122-4823",  # a dot after a non-digit is punctuation, not a decimal point
    ],
)
def test_card_found_grouped(engine: Engine, text: str) -> None:
    assert len(found(engine, text, "pii.payment_card")) == 1


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("Ref: 5472780481961517", "Luhn fails"),
        ("Ref: 6299474287928240699", "Luhn fails"),
        ("event_ts=3973675837146", "Luhn fails"),
        ("订单号 " + luhn_complete("78", 18), "no issuer starts with 7"),
        ("id " + luhn_complete("4", 15), "Visa is never 15 digits"),
        ("x = 0." + CARDS["visa"], "fraction of a decimal number"),
        ("diners " + luhn_complete("3628799", 17), "Diners 36 is 14 digits"),
        ("amex " + luhn_complete("37", 16), "Amex is always 15 digits"),
        ("x" + CARDS["visa"], "inside an alphanumeric token"),
        ("9" + CARDS["visa"], "inside a longer digit run"),
        ("4111 1111 1111 1111", "published test number (too few distinct digits)"),
        ("card 378282246310005", "published test number"),
        ("card 4012 8888 8888 1881", "published test number"),
        ("acct 1234 " + CARDS["visa"][:4] + " " + CARDS["visa"][4:8] + " " + CARDS["visa"][8:12] + " " + CARDS["visa"][12:],
         "grouped run continues before"),
    ],
)
def test_card_near_misses(engine: Engine, text: str, why: str) -> None:
    assert found(engine, text, "pii.payment_card") == [], why


def test_card_labelled_as_something_else_is_less_certain(engine: Engine) -> None:
    card = CARDS["unionpay19"]
    plain = engine.scan(Segment(text=f"请将款项汇至{card}。", path="t"))
    order = engine.scan(Segment(text=f"订单号 {card}", path="t"))
    order_card = engine.scan(Segment(text=f"银行卡 订单号 {card}", path="t"))
    assert plain[0].confidence >= 0.6 and order[0].confidence < 0.5 <= order_card[0].confidence


def test_card_is_not_an_id_number(engine: Engine) -> None:
    # an 18-digit run valid as a resident ID is reported once, as the ID
    ids = [f"620102199001011{n:02d}" for n in range(100)]
    both = next(i + gb11643_check_digit(i) for i in (s[:17] for s in ids)
                if luhn_complete(i, 18) == i + gb11643_check_digit(i))
    ms = engine.scan(Segment(text=f"记录 {both}", path="t"))
    assert [m.detector for m in ms] == ["pii.cn_resident_id"]


def test_card_scheme_attribute_and_severity(engine: Engine) -> None:
    ms = engine.scan(Segment(text=f"卡号 {CARDS['unionpay19']}", path="t"))
    assert ms[0].attributes["scheme"] == "unionpay" and ms[0].severity is Severity.HIGH
    assert issuer("5216000000000000") == "mastercard" and issuer("9216000000000000") is None


# --- pii.email -----------------------------------------------------------------------------------

@pytest.mark.parametrize(
    "addr",
    ["priya@corp-mail.cn", "omar@163.com", "13918594685@163.com", "123456789@qq.com", "x1@126.net", "li.wei@mail.contoso.org", "bob@fabrikam.co.uk", "wang_fang@qq.com",
     "first.last+tag@sub.example-corp.com", "t.nguyen36@university.edu"],
)
def test_email_found(engine: Engine, addr: str) -> None:
    assert found(engine, f"联系邮箱：{addr}。", "pii.email") == [addr]
    assert found(engine, f"Contact <{addr}>.", "pii.email") == [addr]


def test_email_at_example_domains_kept_with_lower_confidence(engine: Engine) -> None:
    # rosters and mail use example.com like any domain; the analyst can filter on confidence
    real = engine.scan(Segment(text="alice@corp-mail.cn", path="t"))
    doc = engine.scan(Segment(text="alice@example.com", path="t"))
    assert real and doc and doc[0].confidence < real[0].confidence
    assert doc[0].attributes["example_domain"] is True and "example_domain" not in real[0].attributes
    assert doc[0].severity is Severity.LOW


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("icon@2x.png", "retina asset"),
        ("logo@1.5x.jpg", "retina asset"),
        ("root@localhost", "no dot-TLD"),
        ("user@host.test", "reserved TLD"),
        ("user@partner.example", "reserved TLD"),
        ("git@github.com:org/repo.git", "SCM remote"),
        ("postgres://app:s3cret@db.corp.net/x", "credential URL"),
        ("a..b@corp.com", "consecutive dots"),
        ("e.g. someone@corp-mail.cn", "documented example"),
        ("lodash@4.17.21", "package version"),
        ("Message-ID: <142480216486.20800.1652638804@mail.corp-mail.cn>", "a message id"),
    ],
)
def test_email_near_misses(engine: Engine, text: str, why: str) -> None:
    assert found(engine, text, "pii.email") == [], why


# --- pii.us_ssn ------------------------------------------------------------------------------------

@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("Social Security Number 723-65-6991 on file.", "723-65-6991"),
        ("SSN: 145-41-5008", "145-41-5008"),
        ("employee 417-91-6234 start date", "417-91-6234"),
        ("SSN 145 41 5008", "145 41 5008"),
        ("ssn=145415008;", "145415008"),
        ("Social security no. 145415008", "145415008"),
        ("员工社保SSN 145415008", "145415008"),
        ("Soc. Sec. 145415008", "145415008"),
    ],
)
def test_ssn_found(engine: Engine, text: str, value: str) -> None:
    assert found(engine, text, "pii.us_ssn") == [value]


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("Case 666-34-9994", "area 666"),
        ("Case 987-98-4071", "area 9xx"),
        ("ref 123-00-4567", "group 00"),
        ("SSN 078-05-1120", "the Woolworth wallet card"),
        ("order 145415008", "bare nine digits without the word"),
        ("phone 145 41 5008", "spaced without the word"),
        ("part 2145-41-5008", "inside a longer token"),
        ("145-41-5008-22", "continues"),
        ("ISBN 978-1-145-41-5008", "inside a longer dashed run"),
    ],
)
def test_ssn_near_misses(engine: Engine, text: str, why: str) -> None:
    assert found(engine, text, "pii.us_ssn") == [], why


# --- pii.iban -----------------------------------------------------------------------------------------

@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("IBAN: GB63 LARR 9957 9032 8921 84", "GB63 LARR 9957 9032 8921 84"),
        ("Wire the deposit to IBAN DE29465634148396030620.", "DE29465634148396030620"),
        ("IBAN FR6481506162251996198391454 for wires", "FR6481506162251996198391454"),
        ("账户 GB15 LOYD 3096 3456 7812 34 AND MORE", "GB15 LOYD 3096 3456 7812 34"),
        ("NO9386011117947", "NO9386011117947"),
    ],
)
def test_iban_found(engine: Engine, text: str, value: str) -> None:
    assert found(engine, text, "pii.iban") == [value]


def test_two_ibans_in_a_row(engine: Engine) -> None:
    assert found(engine, "GB15 LOYD 3096 3456 7812 34 DE44 5001 0517 5407 3249 31", "pii.iban") == [
        "GB15 LOYD 3096 3456 7812 34", "DE44 5001 0517 5407 3249 31"]


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("Account DE08134113657120090307", "mod-97 fails"),
        ("Account FR29 4362 2006 2809 6421 7400 808", "mod-97 fails"),
        ("DE893704004405320130001", "too long for DE"),
        ("XGB82WEST12345698765432", "inside a token"),
        ("ZZ82WEST12345698765432", "unknown country"),
        ("GB15 LO YD30 9634 5678 1234", "spaces not between groups of four"),
        ("IBAN GB82 WEST 1234 5698 7654 32", "the standard's own example"),
        ("IBAN DE89 3704 0044 0532 0130 00", "the standard's own example"),
    ],
)
def test_iban_near_misses(engine: Engine, text: str, why: str) -> None:
    assert found(engine, text, "pii.iban") == [], why


# --- all together ----------------------------------------------------------------------------------------

MIXED = (
    "订单明细 / Order details\n"
    f"姓名,身份证号,手机,银行卡\n张三,{ID},13918594685,{CARDS['unionpay19']}\n"
    f"李四,{ID_X},+86 150 4639 0765,{CARDS['amex']}\n"
    "订单号 788024845936862749\n工号 12541921363\nRef: 5472780481961517\n"
    "Contact priya@corp-mail.cn; SSN: 145-41-5008; IBAN GB15 LOYD 3096 3456 7812 34\n"
    "Case 666-34-9994 · icon@2x.png · 编号：370102195209279205\n"
) * 3


def test_backends_agree_on_mixed_text() -> None:
    results = []
    for backend in BACKENDS:
        engine = Engine([cls() for cls in ALL], backend=backend)
        results.append([(m.detector, m.start, m.end) for m in engine.scan(Segment(text=MIXED, path="t"))])
    assert results[0] == results[1]
    per_copy = {}
    for det, _, _ in results[0]:
        per_copy[det] = per_copy.get(det, 0) + 1
    assert per_copy == {"pii.cn_resident_id": 6, "pii.cn_mobile": 6, "pii.payment_card": 6,
                        "pii.email": 3, "pii.us_ssn": 3, "pii.iban": 3}


FRAGMENTS = [ID, ID_X, "13918594685", "+86 ", "86-", "139 1859 4685", CARDS["visa"], CARDS["amex"], "4434-1925-4122-4823",
             "priya@corp-mail.cn", "@", ".", "com", "145-41-5008", "SSN ", "GB15 LOYD 3096 3456 7812 34", "DE44",
             "0", "9", " ", "-", "\n", "，", "身份证号", "手机", "a", "X", "0.", "订单号 "]
ENGINES = [Engine([cls() for cls in ALL], backend=b) for b in BACKENDS]


@settings(max_examples=150, deadline=None)
@given(st.lists(st.sampled_from(FRAGMENTS), max_size=30))
def test_arbitrary_mixtures_never_raise_and_backends_agree(parts: list[str]) -> None:
    text = "".join(parts)
    results = [[(m.detector, m.start, m.end) for m in e.scan(Segment(text=text, path="t"))] for e in ENGINES]
    assert results[0] == results[1]


@pytest.mark.parametrize("text, detector, value", [
    ("示例：" + ID, "pii.cn_resident_id", ID),
    ("例如 " + CARDS["visa"], "pii.payment_card", CARDS["visa"]),
])
def test_an_example_word_does_not_hide_a_checksum_valid_value(engine: Engine, text: str, detector: str,
                                                               value: str) -> None:
    """"e.g." next to real data must not be a way to slip it past the scanner: kept, with less confidence."""
    ms = [m for m in engine.scan(Segment(text=text, path="t.txt")) if m.detector == detector]
    assert [m.value for m in ms] == [value]
    assert 0.5 <= ms[0].confidence < 1.0 and ms[0].attributes.get("context") == "exclusion"

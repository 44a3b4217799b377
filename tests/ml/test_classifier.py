"""ml.sensitive_document with the shipped model, on documents written here (not by the corpus generator)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from detectors.extract.segment import Segment
from detectors.ml.detector import SensitiveDocumentDetector
from detectors.ml.model import default_model_path

REGULATION = Path("/work/shared/context/regulation-and-articles.txt")

SENSITIVE = {
    "zh_layoff_memo": (
        "王总：\n上次会上说的裁员名单我整理好了，研发部先减八个人，名单附后。李娜的绩效一直不行，这次一起处理。\n"
        "留下的骨干每人加薪百分之十，预算大概一百二十万元，财务那边我已经私下和刘敏沟通过了。\n"
        "这件事先不要让员工知道，等董事会批了再公布。客户那边的报价底线也先别透露给销售。\n"
    ),
    "en_budget_email": (
        "Hi Mark,\nAhead of Thursday: the board wants us to cut the Kestrel budget by 15%. I think we should drop two "
        "contractors and delay the Leeds hire. Please keep this to yourself until the announcement - staff haven't "
        "been told. Priya's review came back below expectations; HR wants a performance plan starting next month. "
        "Our walk-away price with Atlas is $410k. Don't share this with procurement.\n"
    ),
}
PUBLIC = {
    "en_news": (
        "The city council on Tuesday approved a plan to expand bike lanes across downtown, officials said. The "
        "project, expected to cost $12 million, will add 30 miles of protected lanes over the next three years. "
        "The mayor said the plan would make streets safer for everyone. Some business owners raised concerns about "
        "parking, and a public meeting is scheduled for next month. Construction is due to start in the spring.\n"
    ),
    "zh_news": (
        "本报讯 昨日，市文化和旅游局举办新闻发布会，介绍今年国庆假期全市旅游市场情况。假期期间，全市共接待游客"
        "三百二十万人次，同比增长百分之十二。各大景区秩序良好，未发生安全事故。发布会上，相关负责人表示，"
        "下一步将继续丰富文旅产品供给，提升游客满意度。市民和游客普遍反映，今年景区的预约和导览服务更加便捷。\n"
    ),
}


@pytest.fixture(scope="module")
def detector() -> SensitiveDocumentDetector:
    return SensitiveDocumentDetector()


def test_shipped_model_is_inside_the_package_and_small() -> None:
    path = default_model_path()
    assert path.is_file() and path.suffix == ".skops"
    assert path.stat().st_size < 20_000_000


@pytest.mark.parametrize("name", sorted(SENSITIVE))
def test_unseen_sensitive_documents_are_flagged(detector: SensitiveDocumentDetector, name: str) -> None:
    matches = list(detector.scan(Segment(SENSITIVE[name], f"{name}.txt")))
    assert len(matches) == 1
    m = matches[0]
    assert m.detector == "ml.sensitive_document"
    assert (m.start, m.end, m.value) == (0, 0, "")
    assert m.confidence == pytest.approx(m.attributes["probability"], abs=1e-3)
    assert m.confidence >= m.attributes["threshold"] == 0.5
    assert m.attributes["features"], "a verdict comes with the terms that drove it"


@pytest.mark.parametrize("name", sorted(PUBLIC))
def test_unseen_public_documents_are_not_flagged(detector: SensitiveDocumentDetector, name: str) -> None:
    assert list(detector.scan(Segment(PUBLIC[name], f"{name}.txt"))) == []


@pytest.mark.skipif(not REGULATION.is_file(), reason="shared regulation text not present")
def test_public_regulation_about_secrets_is_not_flagged(detector: SensitiveDocumentDetector) -> None:
    text = REGULATION.read_text(encoding="utf-8")
    p, _ = detector.classify(text)
    assert p < detector.threshold
    assert list(detector.scan(Segment(text, "regulation.txt"))) == []


def test_threshold_is_the_policy_knob(tiny_model_path: Path) -> None:
    text = SENSITIVE["en_budget_email"]
    p, _ = SensitiveDocumentDetector(tiny_model_path).classify(text)
    assert list(SensitiveDocumentDetector(tiny_model_path, threshold=min(0.99, p + 0.005)).scan(Segment(text, "a")))  == []
    assert len(list(SensitiveDocumentDetector(tiny_model_path, threshold=max(0.01, p - 0.005)).scan(Segment(text, "a")))) == 1
    with pytest.raises(ValueError):
        SensitiveDocumentDetector(tiny_model_path, threshold=1.5)
    with pytest.raises(ValueError):
        SensitiveDocumentDetector(tiny_model_path, threshold=-0.1)


def test_only_the_head_of_a_document_is_classified(detector: SensitiveDocumentDetector) -> None:
    text = SENSITIVE["en_budget_email"]
    assert list(detector.scan(Segment(text, "a", at_start=False))) == []  # a later chunk
    assert list(detector.scan(Segment(text, "a", count_from=100))) == []  # an overlapping chunk
    assert list(detector.scan(Segment(text, "a", page=3))) == []
    assert list(detector.scan(Segment(text, "a", part="footer"))) == []
    assert list(detector.scan(Segment(text[:80], "a"))) == []  # too short to judge


def test_verdicts_are_cached_by_content(detector: SensitiveDocumentDetector) -> None:
    text = SENSITIVE["zh_layoff_memo"] + "\n附：另见会议纪要。"
    first = detector.classify(text)
    key_count = len(detector._cache)
    assert detector.classify(text) == first
    assert len(detector._cache) == key_count
    detector.classify(text + " ")
    assert len(detector._cache) == key_count + 1


PLANTED = {
    "id": "11010519880312001X",
    "mobile": "13812345678",
    "email": "wang.xiaoming@secret-corp.example",
    "card": "6222021234567890123",
}


def test_explanations_never_reproduce_planted_values(detector: SensitiveDocumentDetector) -> None:
    text = (
        "关于{name}的绩效考核与薪酬调整（内部）\n员工王晓明，身份证号 {id}，手机 {mobile}，邮箱 {email}，"
        "工资卡 {card}。\n本年度绩效考核结果为C，不建议晋升，年终奖系数下调。调薪预算暂缓，"
        "请人力资源部单独通知本人，不得公开讨论个人薪酬。\nThe salary review for {email} is on hold; "
        "contact {email} or {mobile} before the board meeting.\n"
    ).format(name="王晓明", **PLANTED)
    matches = list(detector.scan(Segment(text, "appraisal.txt")))
    assert len(matches) == 1
    features = matches[0].attributes["features"]
    assert features
    rendered = " ".join(features).lower()
    for value in PLANTED.values():
        assert value.lower() not in rendered
        # no piece of a planted value either: no digit run, no part of the address
        for piece in re.split(r"[@.\-]", value.lower()):
            if len(piece) >= 3:
                assert piece not in features, piece
    assert not re.search(r"\d", rendered)
    assert "@" not in rendered


HELDOUT = Path(__file__).resolve().parents[2] / "detectors" / "ml" / "heldout"


@pytest.mark.parametrize("path", sorted(HELDOUT.glob("*/*.txt")), ids=lambda p: f"{p.parent.name}/{p.name}")
def test_hand_written_held_out_documents(detector: SensitiveDocumentDetector, path: Path) -> None:
    """Texts written apart from the corpus templates: the shipped model must get each one right."""
    matches = list(detector.scan(Segment(path.read_text(encoding="utf-8"), path.name)))
    assert len(matches) == (1 if path.parent.name == "sensitive" else 0)

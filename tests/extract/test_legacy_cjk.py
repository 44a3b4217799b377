"""Short GB18030 and Big5 files: both codecs accept most byte pairs, so a line
or two of Big5 also decodes as GB18030 (into rare characters) and the other
way round. The decoding that reads as text must win, however short the file."""

from __future__ import annotations

import dataclasses

import pytest

from detectors.extract import extract_bytes
from detectors.extract.text import detect_encoding
from detectors.policy import load_policy
from detectors.scan import Scanner

from .conftest import collect

TRADITIONAL = [
    "機密★5年\n",
    "絕密★長期\n",
    "國家機密，請勿外傳。\n",
    "國家機密，請勿外傳。\n本報告僅供內部參考，不得轉發給其他單位。\n",
    "會議紀錄：下週三下午兩點在總部開會。\n經濟發展與環境保護應該並重。\n",
    "身分證字號 A123456789，電話 0912-345-678。\n",
    "張三的地址是臺北市大安區忠孝東路1號\n帳號與密碼請勿寫在便條紙上。\n",
    "會議紀錄\n",
]
SIMPLIFIED = [
    "机密★5年\n",
    "绝密★长期\n",
    "国家秘密，请勿外传。\n",
    "国家秘密，请勿外传。\n本报告仅供内部参考，不得转发给其他单位。\n",
    "会议纪要：下周三下午两点在总部开会。\n经济发展与环境保护应该并重。\n",
    "身份证号 110101199003077774，电话13812345678。\n",
    "张三的地址是北京市海淀区中关村大街1号\n",
    "会议纪要\n",
    "你好\n",  # both decodings are ordinary characters: GB18030 wins the tie
]
LATIN = ["Café résumé naïve — password=Tr0ub4dor\n", "Größe für Übersicht, schön\n", "Ça été déjà très légère.\n"]


@pytest.mark.parametrize("text", TRADITIONAL)
def test_short_big5_is_read_as_big5(text: str) -> None:
    assert detect_encoding(text.encode("big5")) == ("big5", 0)
    assert collect(extract_bytes(text.encode("big5"), "tw.txt")).text() == text


@pytest.mark.parametrize("text", SIMPLIFIED)
def test_short_gb18030_stays_gb18030(text: str) -> None:
    assert detect_encoding(text.encode("gb18030")) == ("gb18030", 0)
    assert collect(extract_bytes(text.encode("gb18030"), "zh.txt")).text() == text


@pytest.mark.parametrize("text", SIMPLIFIED[:-1])
def test_gbk_beyond_gb2312_and_a_damaged_byte_stay_gb18030(text: str) -> None:
    # a GBK-only character (镕) and a stray invalid byte must not tip the balance
    data = text.encode("gb18030") + "朱镕基\n".encode("gbk") + b"\xff\n"
    assert detect_encoding(data)[0] == "gb18030"


@pytest.mark.parametrize("text", LATIN)
def test_latin_text_is_not_taken_for_cjk(text: str) -> None:
    assert detect_encoding(text.encode("cp1252")) == ("cp1252", 0)


@pytest.mark.parametrize("lines", [1, 2, 20])
def test_more_traditional_lines_stay_big5(lines: int) -> None:
    text = "".join(TRADITIONAL[i % len(TRADITIONAL)] for i in range(lines))
    assert detect_encoding(text.encode("big5"))[0] == "big5"


def test_big5_marking_is_found_by_the_scanner() -> None:
    scanner = Scanner(dataclasses.replace(load_policy(None)), hash_key=b"test-key-0123456789")
    result = scanner.scan_bytes("機密★5年\n".encode("big5"), "tw.txt")
    found = [f for f in result.findings if f.detector == "marking.cn_state_secret"]
    assert len(found) == 1 and found[0].attributes["period"] == "5年"

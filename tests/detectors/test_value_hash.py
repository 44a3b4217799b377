"""One value, one keyed hash, however it is written: the collector correlates copies by this hash."""

from __future__ import annotations

from detectors.policy import load_policy
from detectors.scan import Scanner


def hashes(text: str, detector: str) -> set[str]:
    scanner = Scanner(load_policy(None), hash_key=b"k" * 32)
    return {f.hash for f in scanner.scan_text(text) if f.detector == detector}


def one_hash_each(variants: list[str], detector: str) -> None:
    found = [hashes(v, detector) for v in variants]
    assert all(len(h) == 1 for h in found), (variants, found)
    assert len(set().union(*found)) == 1, variants


def test_mobile_numbers_hash_alike_across_separators_prefixes_and_widths() -> None:
    one_hash_each(["手机 139-1859-4685", "手机 139 1859 4685", "手机 13918594685", "手机 +86 13918594685",
                   "手机 １３９１８５９４６８５"], "pii.cn_mobile")


def test_cards_ssns_ibans_and_ids_hash_alike_in_print_form() -> None:
    one_hash_each(["card 4532 0151 1283 0366 visa", "card 4532-0151-1283-0366 visa",
                   "card 4532015112830366 visa"], "pii.payment_card")
    one_hash_each(["SSN 536-22-1234", "SSN 536 22 1234"], "pii.us_ssn")
    one_hash_each(["IBAN DE62 3704 0044 0532 0130 01", "IBAN DE62370400440532013001"], "pii.iban")
    one_hash_each(["身份证 11010519900307005x", "身份证 11010519900307005X"], "pii.cn_resident_id")


def test_emails_ignore_case_but_secrets_do_not() -> None:
    one_hash_each(["mail Zhang.Wei@Example.CN now", "mail zhang.wei@example.cn now"], "pii.email")
    upper = hashes('db_password = "Tr0ub4dor&3xyz"', "secret.password")
    lower = hashes('db_password = "tr0ub4dor&3xyz"', "secret.password")
    assert upper and lower and upper != lower


def test_different_values_still_hash_differently() -> None:
    a = hashes("手机 13918594685", "pii.cn_mobile")
    b = hashes("手机 13918594686", "pii.cn_mobile")
    assert a and b and a != b

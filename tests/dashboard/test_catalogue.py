"""The one message catalogue: complete, in step with the code, and shipped in the package."""

from __future__ import annotations

import fnmatch
import re
import tomllib
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

from leakwarden.errors import ConfigError

from server.dashboard import catalog, i18n
from server.dashboard.render import build_environment
from server.dashboard.settings import parse

PACKAGE = Path(catalog.__file__).parent
ROOT = PACKAGE.parents[1]
PLACEHOLDER = re.compile(r"%\((\w+)\)s")


def _po(lang: str):  # type: ignore[no-untyped-def]
    with (i18n.LOCALE_DIR / lang / "LC_MESSAGES" / "messages.po").open("rb") as fh:
        return read_po(fh, locale=lang)


def _ids(cat) -> set[str]:  # type: ignore[no-untyped-def]
    return {m.id if isinstance(m.id, str) else m.id[0] for m in cat if m.id}


def test_every_message_in_the_code_is_in_both_catalogues() -> None:
    extracted = _ids(catalog.extract())
    assert len(extracted) > 150
    for lang in i18n.SUPPORTED:
        # run `python -m server.dashboard.catalog` after adding strings
        assert extracted == _ids(_po(lang)), lang


def test_chinese_is_complete_and_keeps_placeholders() -> None:
    for m in _po("zh_CN"):
        if not m.id:
            continue
        ids = [m.id] if isinstance(m.id, str) else list(m.id)
        strings = [m.string] if isinstance(m.string, str) else list(m.string)
        assert all(strings) and not m.fuzzy, f"untranslated: {ids[0]}"
        for s in strings:
            assert set(PLACEHOLDER.findall(s)) == set(PLACEHOLDER.findall(ids[-1])), ids[0]


def test_negotiation_and_formatting() -> None:
    assert i18n.negotiate("zh-CN,zh;q=0.9,en;q=0.8") == "zh_CN"
    assert i18n.negotiate("en-GB,zh;q=0.5") == "en"
    assert i18n.negotiate("fr-FR, zh-TW;q=0.3") == "zh_CN"
    assert i18n.negotiate("fr, de") == "en" and i18n.negotiate(None) == "en"
    assert i18n.negotiate("zh;q=0, en") == "en"
    zh, en = i18n.Translator("zh_CN"), i18n.Translator("en")
    assert zh.gettext("Alert queue") == "告警队列" and en.gettext("Alert queue") == "Alert queue"
    assert en.number(1234567) == "1,234,567"
    assert "2026年" in zh.datetime(1_800_000_000.0) or "2027年" in zh.datetime(1_800_000_000.0)
    assert zh.ngettext("%(num)s new alert.", "%(num)s new alerts.", 3) == "3 条新告警。"


def test_translated_text_with_values_is_escaped_in_templates() -> None:
    env = build_environment()
    t = i18n.Translator("zh_CN")
    out = env.from_string('{{ _("Verdict for %(name)s", name=n) }}').render(_=t.gettext, n="<img src=x onerror=alert(1)>.docx")
    assert out == "&lt;img src=x onerror=alert(1)&gt;.docx 的审查结论"


def test_every_dashboard_file_is_package_data() -> None:
    globs = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"]["*"]
    for path in PACKAGE.rglob("*"):
        if path.is_file() and "__pycache__" not in path.parts and path.suffix != ".py":
            assert any(fnmatch.fnmatch(path.name, g) for g in globs), f"{path} would not be installed"


def test_dashboard_config_section_is_validated() -> None:
    assert parse(None, "s.yaml").page_size == 50
    ok = parse({"timezone": "Asia/Shanghai", "page_size": 100}, "s.yaml")
    assert ok.page_size == 100 and str(ok.tz) == "Asia/Shanghai"
    for raw, key in (({"timezone": "Mars/Olympus"}, "dashboard.timezone"), ({"page_size": 5}, "dashboard.page_size"),
                     ({"colour": "red"}, "dashboard.colour"), ([], "dashboard")):
        with pytest.raises(ConfigError) as e:
            parse(raw, "s.yaml")
        assert e.value.key == key and "s.yaml" in str(e.value)

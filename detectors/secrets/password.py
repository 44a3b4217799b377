"""Passwords assigned in configuration or code, and credentials in URLs.

The hard part is not finding ``password = ...`` but telling a real value from
everything that only looks like one: placeholders (``<your-password>``,
``${DB_PASSWORD}``, ``{{ password }}``, ``xxxx``), references and code
(``os.environ[...]``, ``get_password()``, ``args.password``), type hints
(``password: str``), UI labels (``"password": "Enter your password"``) and
prose. Each is rejected by a rule in :func:`rejects` below.
"""

from __future__ import annotations

import re
import string
from collections.abc import Iterator

from detectors.base import PatternDetector
from detectors.extract.segment import Segment
from detectors.findings import Match, Severity
from detectors.validators import char_classes

_PW_PRE = r"(?:pass(?:word|wd|phrase)?|pwd|pword)"  # the prefilter runs caseless
_PW = rf"(?i:{_PW_PRE})"
_QUOTED = r"(?:\"(?P<dq>[^\"\n]{1,200})\"|'(?P<sq>[^'\n]{1,200})'|`(?P<bq>[^`\n]{1,200})`)"
# unquoted values end at the punctuation that closes an argument list or object
_UNQUOTED = r"(?P<uv>[^\s\"'`<>,;)}\]]{1,200})"

#: every way a password is written down; each has groups key and dq/sq/bq/uv
_FORMS: tuple[tuple[str, re.Pattern[str]], ...] = (
    # key = value, key: value, "key": "value", key => value, KEY ?= value ...
    ("assign", re.compile(
        rf"(?<![A-Za-z0-9_.$@-])(?P<key>[A-Za-z0-9_.$@-]*{_PW}[0-9]{{0,2}})[\"'\]]?\s{{0,4}}"
        rf"(?:[?:+]?=(?![=~])|=>|->|:(?![:/]))[ \t]{{0,8}}(?:{_QUOTED}|{_UNQUOTED})"
    )),
    # password: str = "value" (annotated assignment)
    ("annotated", re.compile(
        rf"(?<![A-Za-z0-9_.])(?P<key>[A-Za-z0-9_]*{_PW})\s{{0,4}}:\s*[A-Za-z_][\w\[\]., |]*?\s*=\s*{_QUOTED}"
    )),
    # <password>value</password>, <db.password>...
    ("xml", re.compile(
        rf"<(?P<key>[A-Za-z0-9_:.-]*{_PW})>(?P<uv>[^<\n]{{1,200}})</"
    )),
    # <add key="DbPassword" value="..."/> (.NET config), name="password" value="..."
    ("keyvalue", re.compile(
        rf"(?i:key|name)\s*=\s*[\"'](?P<key>[A-Za-z0-9_.:-]*{_PW})[\"']\s+(?i:value)\s*=\s*{_QUOTED}"
    )),
    # .password("value"), setPassword("value"), withPassword('value')
    ("call", re.compile(
        rf"(?<![A-Za-z0-9_])(?P<key>[A-Za-z0-9_]*{_PW})\(\s*{_QUOTED}\s*\)"
    )),
    # .netrc: machine host login user password value
    ("netrc", re.compile(
        r"(?P<key>(?<![A-Za-z])login)[ \t]+[^ \t\n]+[ \t]+password[ \t]+(?P<uv>[^\s]{1,200})"
    )),
    # --password value, --password=value
    ("flag", re.compile(
        rf"(?<![A-Za-z0-9-])--(?P<key>(?:[a-z]+-)?{_PW})(?:=|[ \t]+)(?:{_QUOTED}|{_UNQUOTED})"
    )),
    # define('DB_PASSWORD', 'value');
    ("define", re.compile(
        rf"define\(\s*['\"](?P<key>[A-Za-z0-9_]*{_PW})['\"]\s*,\s*{_QUOTED}"
    )),
    # SQL: IDENTIFIED BY 'value', WITH PASSWORD 'value'
    ("sql", re.compile(
        r"(?P<key>(?i:(?:create|alter)\s+(?:user|role|login)\b[^\n;]{0,120}?"
        r"(?:identified\s+by|password)))\s+'(?P<sq>[^'\n]{1,200})'"
    )),
    # 密码：value, 口令为 value
    ("zh", re.compile(
        r"(?P<key>(?:登录|登錄|登入|初始|默认|默認|預設|管理员|管理員|数据库|數據庫|資料庫|用户|用戶|使用者)?(?:密码|密碼|口令))"
        r"\s{0,3}(?:[:：=]|是|为|為)\s{0,3}"
        r"(?:\"(?P<dq>[\x21-\x7e]{1,200}?)\"|“(?P<bq>[\x21-\x7e]{1,200}?)”|(?P<uv>[\x21-\x7e]{1,200}))"
    )),
    # a key and its value alone on a line: what XML extraction makes of
    # <add key="DbPassword" value="..."/> or <property name="password" value="..."/>,
    # and a row of a two-column table ("Password<TAB>value")
    ("pair", re.compile(
        rf"(?m)^[ \t]*(?P<key>[A-Za-z0-9_.:-]*{_PW}[0-9]{{0,2}})[ \t]+(?P<uv>[\x21-\x7e]{{4,200}})[ \t]*\r?$"
    )),
    # scheme://user:password@host
    ("url", re.compile(
        r"(?<![A-Za-z0-9+.-])(?P<key>[A-Za-z][A-Za-z0-9+.-]{1,20})://[^\s/:@\"'<>]{0,64}:"
        r"(?P<uv>[^\s/@\"'<>]{1,128})@[A-Za-z0-9\[_]"
    )),
)

_NEEDLES: dict[str, tuple[str, ...]] = {
    "assign": ("pass", "pwd", "pword"), "annotated": ("pass", "pwd", "pword"), "xml": ("<",), "keyvalue": ("value",),
    "flag": ("--",), "call": ("(",), "netrc": ("login",), "define": ("define(",), "sql": ("create", "alter"), "zh": ("密码", "密碼", "口令"), "url": ("://",),
    "pair": ("pass", "pwd", "pword"),
}

_ALL_NEEDLES = frozenset(n for needles in _NEEDLES.values() for n in needles)

#: key words that say the value is *about* a password, not one. The key must end
#: with the password word, so these are the ones that come before it
#: (hashed_password, reset_password, show_password, min_password ...)
_NOT_SECRET_KEY_PARTS = frozenset(
    ["hash", "hashed", "digest", "salt", "reset", "forgot", "show", "hide", "min", "max", "minimum",
     "maximum", "require", "requires", "required", "validate", "validation", "field", "label",
     "placeholder", "hint", "prompt", "policy", "regex", "pattern", "check", "verify", "expire",
     "expired", "generate", "random", "use", "no", "has", "is", "enable_ui", "input"]
)
_PW_WORDS = ("password", "passwd", "passphrase")

#: values that stand for "a password goes here"
_PLACEHOLDER_WORDS = frozenset(
    ["none", "null", "nil", "true", "false", "undefined", "n/a", "na", "tbd", "todo", "fixme", "required",
     "optional", "str", "string", "int", "bytes", "bool", "secretstr", "any", "text", "secret", "password",
     "passwd", "pass", "pwd", "passphrase", "changeme", "change_me", "change-me", "changeit", "yourpassword",
     "your_password", "your-password", "mypassword", "my_password", "my-password", "redacted", "hidden",
     "masked", "removed", "omitted", "empty", "blank", "dummy", "example", "sample", "placeholder",
     "password123", "secret123", "value", "xxx", "foo", "bar", "foobar", "default", "unset", "new", "old",
     "enter", "your", "the", "is", "must", "should", "will", "not", "set", "lambda", "void", "function",
     "return", "await", "async", "this", "self", "new", "typeof", "object", "dict", "list", "char"]
)
#: "your-password-here", "YOUR_DB_PASSWORD", "replace_me", "PutYourPasswordHere": words
#: that only describe the value; one of _FILL_IN_MARKERS must be among them
_FILL_IN_WORDS = frozenset(
    ["your", "my", "our", "the", "a", "an", "here", "goes", "go", "enter", "put", "insert", "replace", "with", "me",
     "change", "this", "set", "fill", "in", "add", "new", "actual", "real", "own", "strong", "secure", "secret",
     "password", "passwd", "pass", "pwd", "passphrase", "db", "database", "admin", "root", "user", "app", "api",
     "service", "token", "key", "value", "to", "be", "placeholder", "todo"]
)
_FILL_IN_MARKERS = frozenset(["your", "here", "goes", "enter", "put", "insert", "replace", "change", "fill", "placeholder", "todo"])
_PLACEHOLDER = re.compile(
    r"""^(?:[xX*•·#?_.…-]+|0+|<[^>]*>|\[[^\]]*\]|\$\{[^}]*\}?|\$\(?[A-Z_][A-Z0-9_]*\)?|\$[a-z_][a-z0-9_]*|\$\(.*\)?|%[sdr]|%\([\w.]*\)?[sdr]?
      |%[A-Za-z_][A-Za-z0-9_]*%|\{\{.*\}?\}?|\{%.*|\{[A-Za-z_][\w.]*\}|@[A-Za-z_][\w.]*@|__[A-Za-z_]\w*__
      |ENC\(.*\)|!(?:vault|Ref|Sub|GetAtt|ImportValue|secret|env|include)\b.*
      |(?:env|secret|secrets|vault|file|ssm|awssm|op|keyring):.*|\$2[abxy]?\$.*|\$argon2.*|\{(?:SSHA|SHA|CRYPT|MD5)\}.*)$""",
    re.X,
)
#: what an unquoted value looks like when it is code, not a literal
_CODE = re.compile(
    r"^(?:0x[0-9A-Fa-f]+$|[A-Za-z_][\w.]*\s*[(\[]|[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)+$|[(\[{]"
    r"|(?:self|this|cls|os|process|config|settings|args|opts|options|params|env|request|req|ctx)\b)"
)
_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_FORMAT = re.compile(r"^(?:%(?:\([\w.]+\))?[sd]|[^A-Za-z0-9])+$")  # "%s:%s", "%(user)s/%(pw)s"
#: source code, where a bare word after "password:" is a type or a variable; in
#: configuration files and documents it is the password
_CODE_SUFFIXES = frozenset(
    [".py", ".pyi", ".js", ".mjs", ".cjs", ".ts", ".tsx", ".jsx", ".java", ".kt", ".scala", ".go", ".rs", ".rb",
     ".php", ".cs", ".c", ".h", ".cc", ".cpp", ".hpp", ".swift", ".m", ".dart", ".lua", ".pl", ".r", ".vue"]
)
_HUMPS = re.compile(r"[A-Z]?[a-z]+|[A-Z]+(?![a-z])")
#: tokens with a detector of their own (https://x-access-token:ghs_...@github.com)
_OTHER_SECRET = re.compile(r"^(?:gh[pousr]_|github_pat_|xox[a-z]-|xapp-|eyJ|AKIA|ASIA)")
_VARLIKE = re.compile(r"(?i)pass|pwd|secret|token|key|cred")


_SETTER = re.compile(rf"^(?i:set|with)?_?{_PW}$")

# --- where a form's match can start. Python's re tries every offset of a window and
# these patterns open with a look-behind and a class repeat, so it cannot skip ahead;
# the forms below can only start at the head of the token (or line) holding a password
# word, or at a "://" or "--". Matching at those offsets only, in order and never
# inside the previous match, finds exactly what finditer over the window finds.
_PW_AT = re.compile(_PW)
_ALNUM = string.ascii_letters + string.digits
#: the characters of a key token, per form (its look-behind class)
_KEY_CHARS = {
    form: (frozenset(chars), re.compile(f"[^{re.escape(chars)}]"))
    for form, chars in (("assign", _ALNUM + "_.$@-"), ("annotated", _ALNUM + "_"), ("call", _ALNUM + "_"))
}
_SCHEME_CHARS = frozenset(_ALNUM + "+.-")


def _token_start(text: str, pos: int, lo: int, chars: frozenset[str]) -> int | None:
    """Start of the run of ``chars`` that holds ``pos``, or None when it begins before ``lo``."""
    k = pos
    while k > lo and text[k - 1] in chars:
        k -= 1
    return None if k == lo and k > 0 and text[k - 1] in chars else k


def _starts(form: str, text: str, start: int, end: int, words: list[int]) -> list[int] | None:
    """Offsets where ``form`` may match in text[start:end], or None: try every offset.

    ``words`` are the offsets of the password words in the window, in order. Each
    step looks only between neighbouring words, so a window costs linear time.
    """
    out: list[int] = []
    if form in _KEY_CHARS:
        chars, other = _KEY_CHARS[form]
        last = -1
        for p in words:
            # a word in the same run as the previous one has the same start
            if last < 0 or other.search(text, last, p):
                k = _token_start(text, p, start, chars)
                if k is not None and (not out or out[-1] != k):
                    out.append(k)
            last = p
        return out
    if form == "pair":  # (?m)^ : the start of the line holding the word
        line, last = (0 if start == 0 else None), start
        for p in words:
            nl = text.rfind("\n", max(0, last - 1), p)
            if nl >= 0:
                line = nl + 1
            if line is not None and (not out or out[-1] != line):
                out.append(line)
            last = p
        return out
    needle = {"url": "://", "flag": "--"}.get(form)
    if needle is None:
        return None
    j = text.find(needle, start, end)
    while j >= 0:
        # a scheme is 2..21 characters right before "://"
        k = j if form == "flag" else _token_start(text, j, max(start, j - 22), _SCHEME_CHARS)
        if k is not None:
            out.append(k)
        j = text.find(needle, j + 1, end)
    return out


def _anchored(rx: re.Pattern[str], text: str, starts: list[int], end: int) -> Iterator[re.Match[str]]:
    """What ``rx.finditer(text, start, end)`` finds when matches can only begin at ``starts``."""
    last = -1
    for k in starts:
        if k < last:
            continue
        m = rx.match(text, k, end)
        if m is not None:
            yield m
            last = max(m.end(), k + 1)


_CAMEL = re.compile(r"([a-z0-9])([A-Z])")
_NOT_ALNUM = re.compile(r"[^A-Za-z0-9]+")


def _key_parts(key: str) -> list[str]:
    spaced = _CAMEL.sub(r"\1 \2", key) if _CAMEL.search(key) else key
    return [p.lower() for p in _NOT_ALNUM.split(spaced) if p]


def _key_names_password(form: str, key: str) -> bool:
    if form in ("url", "sql", "zh", "netrc"):
        return True
    if form == "call":  # a setter, not ask_password("Password: ") or splitpasswd('user:pw')
        return bool(_SETTER.match(key))
    parts = _key_parts(key)
    if not parts or any(p in _NOT_SECRET_KEY_PARTS for p in parts):
        return False
    last = parts[-1].rstrip("0123456789")
    return last in ("pass", "pwd", "pword", "pw") or last.endswith(_PW_WORDS)


def _looks_like_a_name(v: str) -> bool:
    """Whether an identifier reads as a name (``str``, ``HiddenText``, ``o_entry``, ``myKey1``).

    Names switch from lower to upper case only at word boundaries; random
    letters (``yGFGebhTpJPzfT``) switch every few characters.
    """
    for part in v.split("_"):
        letters = "".join(c for c in part if c.isalpha())
        switches = sum(1 for a, b in zip(letters, letters[1:]) if a.islower() and b.isupper())
        if switches * 6 > len(letters):
            return False
    return True


def rejects(value: str, quoted: bool, after: str, code: bool = True) -> bool:
    """Whether ``value`` is a placeholder, a reference, code or prose rather than a password.

    ``after`` is the rest of the line behind an unquoted value; ``code`` says the
    text is source code rather than configuration or a document.
    """
    v = value.strip()
    low = v.lower()
    if len(v) < 4 or low.rstrip("?: ") in _PLACEHOLDER_WORDS or _PLACEHOLDER.match(v):
        return True
    if v.isdigit() and len(v) < 6:  # counts, ports, PIN-like test numbers
        return True
    if not v.isascii():
        return True
    words = _key_parts(v)
    if len(words) >= 2 and set(words) <= _FILL_IN_WORDS and not _FILL_IN_MARKERS.isdisjoint(words):
        return True
    if len(set(low)) == 1 or not any(c.isalnum() for c in v):
        return True
    if "{}" in v or _FORMAT.search(v) or v.count("%s") + v.count("%d") >= 2:  # format strings
        return True
    if _OTHER_SECRET.match(v):  # reported by its own detector, once
        return True
    if v.isalpha() and _VARLIKE.search(v) and _looks_like_a_name(v):  # "bandpass", "challengePassword"
        return True
    if quoted:
        # UI strings, messages and docs: "Enter your password", "The \"pass\" statement"
        words = v.split()
        return len(words) >= 2 and sum(w.strip("\"'.,:;!?()").isalpha() for w in words) >= 0.6 * len(words)
    if _CODE.match(v) or (_IDENT.match(v) and _VARLIKE.search(v) and _looks_like_a_name(v)):
        return True
    if re.match(r"^[&*][a-z_][a-z0-9_-]*$", v):  # YAML anchor/alias (*default_password)
        return True
    rest = after.strip()
    if _IDENT.match(v) and rest[:1] in (",", ")"):  # keyword argument passing a variable
        return True
    # a bare word is a type or a variable in code; in a config file or a document
    # only a plain lower-case word, snake_case or CONSTANT_CASE name is taken for one
    if re.fullmatch(r"[A-Za-z_]+", v) and _looks_like_a_name(v) and (
        code or v.islower() or ("_" in v and v.isupper())
    ):
        return True
    # prose: "Password: enter it below" - a word followed by more words
    return bool(v.isalpha() and rest and not rest.startswith(("#", "//", ";", "--")) and re.match(r"[A-Za-z]", rest))


def _trim_unquoted(value: str) -> str:
    # connection strings and query strings pack several settings after the password
    value = re.split(r";(?=\s*[A-Za-z][\w ]*=)|&(?=[A-Za-z_][\w.]*=)", value, maxsplit=1)[0]
    return value.rstrip("?:")


class PasswordDetector(PatternDetector):
    id = "secret.password"
    severity = Severity.HIGH
    # one alternative per form in _FORMS, each a superset of what the form matches
    prefilter = (
        rf"{_PW_PRE}[0-9]{{0,2}}[\"'\]]?\s{{0,4}}(?:[?:+]?=|=>|->|:)"
        rf"|{_PW_PRE}>"
        rf"|{_PW_PRE}[\"']\s+value\s*="
        rf"|{_PW_PRE}[\"']\s*,"
        rf"|{_PW_PRE}\(\s*[\"'`]"
        r"|login[ \t]+[^ \t\n]+[ \t]+password[ \t]"
        rf"|--(?:[a-z]+-)?{_PW_PRE}[= \t]"
        r"|identified\s+by\s+'|password\s+'"
        r"|(?:密码|密碼|口令)\s{0,3}(?::|：|=|是|为|為)"
        r"|://[^\s/:@\"'<>]{0,64}:[^\s/@\"'<>]{1,128}@"
        rf"|{_PW_PRE}[0-9]{{0,2}}[ \t]+[\x21-\x7e]{{4}}[\x21-\x7e]*[ \t]*(?:\r|\n|$)"
    )
    prefilter_caseless = True
    pattern = _FORMS[0][1]
    margin = 160
    base_confidence = 0.7
    hotwords = ("db", "database", "mysql", "postgres", "redis", "smtp", "ldap", "admin", "root", "数据库", "數據庫", "資料庫")
    exclusions = ("example", "示例", "例如", "placeholder", "dummy", "sample")

    def verify(self, segment: Segment, start: int, end: int) -> Iterator[Match]:
        text = segment.text
        window = text[start:end].lower()
        # "outer.zip!inner/app.py" names the member; the suffix of its last part decides
        name = segment.path.rsplit("!", 1)[-1].rsplit("/", 1)[-1].lower()
        code = "." in name and name[name.rfind("."):] in _CODE_SUFFIXES
        seen: set[int] = set()
        words = [w.start() for w in _PW_AT.finditer(text, start, end)]
        present = {n for n in _ALL_NEEDLES if n in window}
        for form, rx in _FORMS:
            # skip the forms whose fixed text is absent: nine regexes per window add up
            if present.isdisjoint(_NEEDLES[form]):
                continue
            starts = _starts(form, text, start, end, words)
            for m in rx.finditer(text, start, end) if starts is None else _anchored(rx, text, starts, end):
                groups = m.groupdict()
                group = next(g for g in ("dq", "sq", "bq", "uv") if groups.get(g) is not None)
                value, vs = m.group(group), m.start(group)
                quoted = group != "uv"
                if not quoted:
                    value = _trim_unquoted(value)
                if form == "zh" and not quoted:
                    value = value.rstrip(".,;)。")
                ve = vs + len(value)
                if vs in seen or not value:
                    continue
                after = text[ve:ve + 200].split("\n", 1)[0]
                if not _key_names_password(form, m.group("key")) or rejects(value, quoted, after, code):
                    continue
                if form == "pair" and (
                    m.group("key").lower() == "pass"  # the verb: "we\npass CERT_STORE."
                    or value.rstrip(".,;:!?").isalpha()  # "Password Manager", "username/\npassword combination."
                    or rejects(value.rstrip(".,;:!?"), quoted, after, code)
                ):
                    continue
                seen.add(vs)
                yield Match(
                    detector=self.id, start=vs, end=ve, value=value,
                    confidence=self._confidence(value), severity=self.severity,
                    attributes={"form": form},
                )

    def _confidence(self, value: str) -> float:
        if len(value) >= 8 and char_classes(value) >= 3:
            return 0.85
        if value.isalpha() and value.islower():  # a plain word: often a test value
            return 0.5
        return self.base_confidence

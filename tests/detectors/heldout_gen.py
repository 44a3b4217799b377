"""Generate a fresh labelled corpus in the style of ``/work/shared/eval/dev``.

    .venv/bin/python -m tests.detectors.heldout_gen OUT_DIR [--seed N] [--files-per-kind N]
    python3 /work/shared/eval/score.py OUT_DIR --cmd ".venv/bin/leakwarden scan --format jsonl {dir}" --show-misses

The dev corpus is small and the product is judged on other files of the same
kinds, so this writes new values (real checksums computed here, independently
of ``detectors.validators``) in the shapes people really write them: full-width
digits, +86/0086 prefixes, grouped cards and IBANs, SSNs in labelled contexts,
secrets in every config syntax, private keys of several types, markings in
Chinese, US and corporate styles, DOCX headers, and negatives that look alike
(bad checksums, public keys, placeholders, documented examples, marking words
in prose, order numbers, timestamps, UUIDs, hashes). ``labels.json`` has the
scorer's format: per file the expected detector ids and occurrence counts
(``null`` for markings, which are scored per file).
"""

from __future__ import annotations

import argparse
import base64
import datetime as dt
import hashlib
import hmac
import io
import json
import random
import string
import uuid
from collections import Counter
from collections.abc import Callable
from pathlib import Path

# --- values with real checksums ----------------------------------------------------------------

_AREAS = ("110101", "110105", "120103", "130102", "210102", "310104", "310115", "320102", "320583",
          "330106", "340104", "350203", "370102", "410105", "420111", "430104", "440305", "440106",
          "450103", "500103", "510107", "520102", "530102", "610113", "620102", "650102", "652301")
_W = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)


def resident_id(rng: random.Random, valid: bool = True) -> str:
    born = dt.date(1950, 1, 1) + dt.timedelta(days=rng.randrange(20000))
    body = rng.choice(_AREAS) + born.strftime("%Y%m%d") + f"{rng.randrange(1000):03d}"
    check = "10X98765432"[sum(int(c) * w for c, w in zip(body, _W)) % 11]
    if not valid:
        check = rng.choice([c for c in "0123456789X" if c != check])
    return body + check


def luhn_digit(body: str) -> str:
    total = 0
    for i, c in enumerate(reversed(body)):
        d = int(c)
        if i % 2 == 0:
            d = d * 2 - 9 if d * 2 > 9 else d * 2
        total += d
    return str(-total % 10)


_CARD_PREFIXES = (("4", 16), ("51", 16), ("53", 16), ("55", 16), ("2221", 16), ("2720", 16), ("62", 16),
                  ("62", 19), ("34", 15), ("37", 15), ("6011", 16), ("3528", 16), ("36", 14))


def card(rng: random.Random, valid: bool = True, prefix: tuple[str, int] | None = None) -> str:
    while True:
        head, n = prefix or rng.choice(_CARD_PREFIXES)
        body = head + "".join(rng.choice(string.digits) for _ in range(n - len(head) - 1))
        check = luhn_digit(body)
        if not valid:
            check = str((int(check) + rng.randrange(1, 10)) % 10)
        num = body + check
        if len(set(num)) >= 5:
            return num


def group_card(num: str, sep: str) -> str:
    if len(num) == 15:
        return sep.join([num[:4], num[4:10], num[10:]])
    if len(num) == 14:
        return sep.join([num[:4], num[4:10], num[10:]])
    return sep.join(num[i:i + 4] for i in range(0, len(num), 4))


_MOBILE_HEADS = ("130", "131", "132", "133", "135", "136", "137", "138", "139", "147", "150", "151", "152",
                 "153", "155", "156", "157", "158", "159", "166", "170", "173", "175", "176", "177", "178",
                 "180", "181", "182", "183", "185", "186", "187", "188", "189", "191", "195", "198", "199")


def mobile(rng: random.Random) -> str:
    while True:
        tail = "".join(rng.choice(string.digits) for _ in range(8))
        if len(set(tail)) > 3:
            return rng.choice(_MOBILE_HEADS) + tail


def mobile_form(rng: random.Random, m: str) -> str:
    """A mobile number as people write it (the value stays the 11 digits)."""
    shape = rng.choice(["plain", "space", "dash", "+86", "+86 ", "0086", "+86-", "(+86)"])
    if shape == "space":
        return f"{m[:3]} {m[3:7]} {m[7:]}"
    if shape == "dash":
        return f"{m[:3]}-{m[3:7]}-{m[7:]}"
    if shape == "+86":
        return "+86" + m
    if shape == "+86 ":
        return "+86 " + rng.choice([m, f"{m[:3]} {m[3:7]} {m[7:]}"])
    if shape == "0086":
        return "0086 " + m
    if shape == "+86-":
        return "+86-" + m
    if shape == "(+86)":
        return "(+86) " + m
    return m


_FW = str.maketrans("0123456789-", "０１２３４５６７８９－")


def fullwidth(s: str) -> str:
    return s.translate(_FW)


def ssn(rng: random.Random) -> str:
    while True:
        area = rng.randrange(1, 900)
        if area != 666:
            return f"{area:03d}-{rng.randrange(1, 100):02d}-{rng.randrange(1, 10000):04d}"


_IBAN_SPECS = {  # country: BBAN made of (count, kind) with kind "n" digits, "a" capitals, "c" either
    "DE": ((18, "n"),), "GB": ((4, "a"), (14, "n")), "FR": ((23, "n"),), "NL": ((4, "a"), (10, "n")),
    "ES": ((20, "n"),), "IT": ((1, "a"), (22, "n")), "BE": ((12, "n"),), "CH": ((17, "n"),),
    "AT": ((16, "n"),), "PL": ((24, "n"),), "SE": ((20, "n"),), "IE": ((4, "a"), (14, "n")),
}


def iban(rng: random.Random, country: str | None = None, valid: bool = True) -> str:
    country = country or rng.choice(sorted(_IBAN_SPECS))
    bban = "".join(
        rng.choice(string.digits if kind == "n" else string.ascii_uppercase)
        for count, kind in _IBAN_SPECS[country] for _ in range(count)
    )
    check = 98 - int("".join(str(int(c, 36)) for c in bban + country + "00")) % 97
    if not valid:
        check = (check + rng.randrange(1, 90)) % 97 + 2
    return f"{country}{check:02d}{bban}"


def print_iban(value: str) -> str:
    return " ".join(value[i:i + 4] for i in range(0, len(value), 4))


_B32 = string.ascii_uppercase + "234567"
_ALNUM = string.ascii_letters + string.digits


def rand(rng: random.Random, n: int, alphabet: str = _ALNUM) -> str:
    return "".join(rng.choice(alphabet) for _ in range(n))


def aws_key_id(rng: random.Random) -> str:
    return rng.choice(["AKIA", "ASIA"]) + rand(rng, 16, _B32)


def aws_secret(rng: random.Random) -> str:
    while True:
        s = rand(rng, 40, _ALNUM + "+/")
        if any(c.islower() for c in s) and any(c.isupper() for c in s):
            return s


def github_token(rng: random.Random) -> str:
    if rng.random() < 0.2:
        return "github_pat_" + rand(rng, 22) + "_" + rand(rng, 59)
    return rng.choice(["ghp_", "gho_", "ghu_", "ghs_"]) + rand(rng, 36)


def slack_token(rng: random.Random) -> str:
    kind = rng.choice(["xoxb", "xoxp", "webhook"])
    if kind == "webhook":
        return f"https://hooks.slack.com/services/T{rand(rng, 8, string.ascii_uppercase + string.digits)}" \
               f"/B{rand(rng, 8, string.ascii_uppercase + string.digits)}/{rand(rng, 24)}"
    if kind == "xoxp":
        return f"xoxp-{rng.randrange(10**11, 10**12)}-{rng.randrange(10**11, 10**12)}-" \
               f"{rng.randrange(10**12, 10**13)}-{rand(rng, 32, '0123456789abcdef')}"
    return f"xoxb-{rng.randrange(10**11, 10**12)}-{rng.randrange(10**12, 10**13)}-{rand(rng, 24)}"


def _b64url(b: bytes) -> str:
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


def jwt(rng: random.Random) -> str:
    alg = rng.choice(["HS256", "HS512"])
    head = _b64url(json.dumps({"alg": alg, "typ": "JWT"}, separators=(",", ":")).encode())
    body = _b64url(json.dumps({"sub": str(rng.randrange(10**6)), "role": rng.choice(["admin", "user"]),
                               "exp": 1700000000 + rng.randrange(10**7)}, separators=(",", ":")).encode())
    mac = hmac.new(rand(rng, 32).encode(), f"{head}.{body}".encode(), hashlib.sha256 if alg == "HS256" else hashlib.sha512)
    return f"{head}.{body}.{_b64url(mac.digest())}"


def password(rng: random.Random) -> str:
    while True:
        pw = rand(rng, 1) + rand(rng, rng.randrange(9, 19), _ALNUM + "!#%^*_-+=")
        if sum(c.isdigit() for c in pw) and sum(c.isupper() for c in pw) and sum(c.islower() for c in pw):
            return pw


def private_keys() -> list[tuple[str, str]]:
    """(file name, PEM text) of private keys of several types, made by ``cryptography``."""
    from cryptography.hazmat.primitives import serialization as s
    from cryptography.hazmat.primitives.asymmetric import dsa, ec, ed25519, rsa

    rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    ec_key = ec.generate_private_key(ec.SECP256R1())
    ed_key = ed25519.Ed25519PrivateKey.generate()
    dsa_key = dsa.generate_private_key(key_size=1024)
    pem, tl, pk8, ossh = s.Encoding.PEM, s.PrivateFormat.TraditionalOpenSSL, s.PrivateFormat.PKCS8, s.PrivateFormat.OpenSSH
    none = s.NoEncryption()
    return [
        ("id_rsa", rsa_key.private_bytes(pem, tl, none).decode()),
        ("server.key", rsa_key.private_bytes(pem, pk8, none).decode()),
        ("ec_key.pem", ec_key.private_bytes(pem, tl, none).decode()),
        ("id_ed25519", ed_key.private_bytes(pem, ossh, none).decode()),
        ("id_ecdsa", ec_key.private_bytes(pem, ossh, none).decode()),
        ("dsa.pem", dsa_key.private_bytes(pem, tl, none).decode()),
        ("enc.pem", rsa_key.private_bytes(pem, pk8, s.BestAvailableEncryption(b"pw-for-test")).decode()),
        ("rsa.pub.pem", rsa_key.public_key().public_bytes(pem, s.PublicFormat.SubjectPublicKeyInfo).decode()),
        ("id_ed25519.pub", ed_key.public_key().public_bytes(s.Encoding.OpenSSH, s.PublicFormat.OpenSSH).decode()),
    ]


# --- filler prose ------------------------------------------------------------------------------

EN = [
    "The team finished the migration of the billing service ahead of schedule.",
    "Please bring your badge to the quarterly town hall on Wednesday.",
    "Release 3.7.2 addresses the memory leak seen on build 20240611.",
    "Parking on level B2 will be closed for resurfacing next weekend.",
    "Minutes of the steering committee are attached for review.",
    "Lunch will be served in the atrium after the presentation.",
    "The warehouse inventory count starts at 08:30 on Monday.",
    "Our support desk answered 1,284 tickets in the last quarter.",
]
ZH = [
    "根据年度工作安排，各部门应于下周三前提交预算草案。",
    "图书馆将于国庆假期期间调整开放时间，敬请留意。",
    "本次培训共有一百二十名员工参加，反响良好。",
    "市气象台发布暴雨蓝色预警，请市民注意出行安全。",
    "项目组已完成系统上线前的第二轮联调测试。",
    "食堂将于下月起增加晚餐供应窗口。",
    "请各单位做好节前安全检查，确保设施运行正常。",
    "会议纪要已上传至共享目录，请查阅。",
]


def fill(rng: random.Random, lang: str, n: int) -> list[str]:
    return [rng.choice(EN if lang == "en" else ZH) for _ in range(n)]


def mix(rng: random.Random, lang: str, lines: list[str]) -> str:
    out = fill(rng, lang, rng.randrange(1, 3))
    for ln in lines:
        out.append(ln)
        if rng.random() < 0.4:
            out.append(rng.choice(EN if lang == "en" else ZH))
    out += fill(rng, lang, rng.randrange(1, 3))
    return "\n".join(out) + "\n"


# --- file builders: each returns (relative path, bytes, expected counts) ------------------------

File = tuple[str, bytes, dict[str, int | None]]


def pii_en(rng: random.Random, i: int) -> File:
    lines, c = [], Counter()
    for _ in range(rng.randrange(3, 7)):
        kind = rng.choice(["card", "iban", "ssn", "email"])
        c[f"pii.{'payment_card' if kind == 'card' else 'us_ssn' if kind == 'ssn' else kind}"] += 1
        if kind == "card":
            n = card(rng)
            v = rng.choice([n, group_card(n, " "), group_card(n, "-")])
            lines.append(rng.choice([f"Card number: {v}", f"Charge the corporate card {v} for the hotel.",
                                     f"credit card {v} exp 09/27", f"Payment: {v}", f"\"card\": \"{v}\","]))
        elif kind == "iban":
            v = iban(rng)
            v = rng.choice([v, print_iban(v)])
            lines.append(rng.choice([f"IBAN: {v}", f"Beneficiary account (IBAN) {v}", f"Please wire EUR 1,200 to {v}."]))
        elif kind == "ssn":
            v = ssn(rng)
            lines.append(rng.choice([f"SSN: {v}", f"SSN {v.replace('-', '')}", f"Social Security No. {v}",
                                     f"social security number: {v.replace('-', ' ')}", f"Employee SSN - {v}",
                                     f"SSN#: {v}"]))
        else:
            user = rng.choice(["li.wei", "maria.garcia", "J.Smith", "ops+alerts", "anna_k", "Chen.Jing+hr", "josé.núñez",
                               "françois", "Zoë.Smith+billing"])
            dom = rng.choice(["corp-mail.cn", "Example.ORG", "mail.company.co.uk", "163.com", "qq.com", "univ.edu",
                              "bücher.de", "correo.es"])
            v = f"{user}@{dom}"
            if rng.random() < 0.3:
                v = v.upper()
            lines.append(rng.choice([f"Contact: {v}", f"<{v}>", f"mailto:{v}", f"Send the report to {v}.", f"email={v}"]))
    return f"pii/en_{i:02d}.txt", mix(rng, "en", lines).encode(), dict(c)


def pii_zh(rng: random.Random, i: int, wide: bool = False) -> File:
    lines, c = [], Counter()
    for _ in range(rng.randrange(3, 7)):
        kind = rng.choice(["id", "mobile", "card"])
        if kind == "id":
            v = resident_id(rng)
            if rng.random() < 0.25:
                v = f"{v[:6]} {v[6:14]} {v[14:]}"
            v = fullwidth(v) if wide else v
            c["pii.cn_resident_id"] += 1
            lines.append(rng.choice([f"身份证号：{v}", f"公民身份号码 {v}", f"证件号码：{v}。", f"申请人（身份证{v}）已签字。"]))
        elif kind == "mobile":
            v = mobile_form(rng, mobile(rng))
            v = fullwidth(v) if wide else v
            c["pii.cn_mobile"] += 1
            lines.append(rng.choice([f"手机：{v}", f"联系电话 {v}", f"如有疑问请致电{v}。", f"联系人：王女士，{v}",
                                     f"手机号码:{v}；"]))
        else:
            n = card(rng, prefix=rng.choice([("62", 16), ("62", 19), ("4", 16), ("51", 16)]))
            v = rng.choice([n, group_card(n, " "), group_card(n, "-")])
            v = fullwidth(v) if wide else v
            c["pii.payment_card"] += 1
            lines.append(rng.choice([f"银行卡号：{v}", f"请将报销款转入{v}。", f"开户行：工商银行 卡号 {v}", f"信用卡 {v}"]))
    text = mix(rng, "zh", lines)
    if wide:
        text = text.replace(":", "：")
    name = f"pii/zh_fw_{i:02d}.txt" if wide else f"pii/zh_{i:02d}.txt"
    return name, text.encode(rng.choice(["utf-8", "gb18030"]) if not wide else "utf-8"), dict(c)


def pii_roster(rng: random.Random, i: int) -> File:
    names = ["张伟", "王芳", "李娜", "刘洋", "陈静", "杨帆", "赵磊", "黄敏", "吴强", "古丽米拉"]
    rows, n = ["序号,姓名,身份证号,手机,银行卡,邮箱"], rng.randrange(8, 15)
    for k in range(n):
        m = mobile(rng)
        rows.append(f"{k + 1},{rng.choice(names)},{resident_id(rng)},{rng.choice([m, m[:3] + ' ' + m[3:7] + ' ' + m[7:]])},"
                    f"{card(rng, prefix=rng.choice([('62', 16), ('62', 19), ('4', 16)]))},"
                    f"user{rng.randrange(1000)}@{rng.choice(['corp.cn', 'qq.com', '126.com'])}")
    eol = rng.choice(["\n", "\r\n"])
    data = (eol.join(rows) + eol).encode(rng.choice(["utf-8", "utf-8-sig", "gb18030"]))
    return f"pii/roster_{i}.csv", data, {"pii.cn_resident_id": n, "pii.cn_mobile": n, "pii.payment_card": n, "pii.email": n}


def secrets_file(rng: random.Random, i: int) -> File:
    kind = rng.choice(["env", "py", "yaml", "json", "sh", "ini", "toml", "xml", "properties", "js", "compose",
                       "connstr", "spring_xml", "url"])
    pw, kid, sk = password(rng), aws_key_id(rng), aws_secret(rng)
    gh, sl, tok = github_token(rng), slack_token(rng), jwt(rng)
    c: dict[str, int | None] = {"secret.password": 1}
    if kind == "env":
        q = rng.choice(["", '"', "'"])
        body = (f"# {rng.choice(['staging', 'prod'])} settings\nAPP_ENV=production\nAWS_ACCESS_KEY_ID={kid}\n"
                f"AWS_SECRET_ACCESS_KEY={q}{sk}{q}\nPOSTGRES_PASSWORD={q}{pw}{q}\nSLACK_WEBHOOK_URL={sl}\nPORT=8080\n")
        c.update({"secret.aws_access_key": 1, "secret.aws_secret_key": 1, "secret.slack_token": 1})
    elif kind == "sh":
        body = (f"#!/bin/sh\nset -e\nexport AWS_ACCESS_KEY_ID={kid}\nexport AWS_SECRET_ACCESS_KEY=\"{sk}\"\n"
                f"export MYSQL_PWD='{pw}'\nexport GITHUB_TOKEN={gh}\n./deploy.sh --region us-east-1\n")
        c.update({"secret.aws_access_key": 1, "secret.aws_secret_key": 1, "secret.github_token": 1})
    elif kind == "py":
        body = (f"import os\n\nDATABASES = {{\n    'default': {{\n        'USER': 'app',\n        'PASSWORD': '{pw}',\n"
                f"        'HOST': 'db',\n    }}\n}}\nSLACK_TOKEN = \"{sl}\"\nAPI_KEY = os.environ.get('API_KEY')\n"
                f"def headers():\n    return {{'Authorization': 'Bearer {tok}'}}\n")
        c.update({"secret.slack_token": 1, "secret.jwt": 1})
    elif kind == "yaml":
        body = (f"spring:\n  datasource:\n    url: jdbc:mysql://db:3306/app\n    username: app\n    password: {pw}\n"
                f"aws:\n  access_key_id: {kid}\n  secret_access_key: \"{sk}\"\nlogging:\n  level: INFO\n")
        c.update({"secret.aws_access_key": 1, "secret.aws_secret_key": 1})
    elif kind == "json":
        body = json.dumps({"db": {"host": "10.0.0.5", "user": "svc", "password": pw},
                           "github": {"token": gh}, "session": tok, "retries": 3}, indent=2) + "\n"
        c.update({"secret.github_token": 1, "secret.jwt": 1})
    elif kind == "ini":
        body = (f"[database]\nhost = db.internal\nuser = report\npassword = {pw}\n\n[aws]\n"
                f"aws_access_key_id = {kid}\naws_secret_access_key = {sk}\n")
        c.update({"secret.aws_access_key": 1, "secret.aws_secret_key": 1})
    elif kind == "toml":
        body = (f"[server]\nport = 8443\n\n[database]\nuser = \"app\"\npassword = \"{pw}\"\n\n[slack]\n"
                f"bot_token = \"{sl}\"\n")
        c.update({"secret.slack_token": 1})
    elif kind == "xml":
        body = (f"<?xml version=\"1.0\"?>\n<configuration>\n  <appSettings>\n    <add key=\"DbPassword\" value=\"{pw}\" />\n"
                f"    <add key=\"AwsAccessKey\" value=\"{kid}\" />\n  </appSettings>\n</configuration>\n")
        c.update({"secret.aws_access_key": 1})
    elif kind == "properties":
        body = (f"spring.datasource.url=jdbc:postgresql://db/app\nspring.datasource.username=app\n"
                f"spring.datasource.password={pw}\ngithub.token={gh}\n")
        c.update({"secret.github_token": 1})
    elif kind == "compose":
        body = (f"services:\n  db:\n    image: postgres:16\n    environment:\n      - POSTGRES_USER=app\n"
                f"      - POSTGRES_PASSWORD={pw}\n      - AWS_ACCESS_KEY_ID={kid}\n")
        c.update({"secret.aws_access_key": 1})
    elif kind == "connstr":
        body = (f"{{\n  \"ConnectionStrings\": {{\n    \"Default\": \"Server=sql01;Database=Sales;User Id=sa;"
                f"Password={pw.replace(';', '')};TrustServerCertificate=true\"\n  }}\n}}\n")
    elif kind == "spring_xml":
        body = (f"<beans>\n  <bean id=\"ds\" class=\"org.apache.commons.dbcp2.BasicDataSource\">\n"
                f"    <property name=\"username\" value=\"app\"/>\n    <property name=\"password\" value=\"{pw}\"/>\n"
                f"  </bean>\n</beans>\n")
    elif kind == "url":
        body = (f"# broker and database\nBROKER_URL=amqp://guest:guest@localhost:5672//\n"
                f"DATABASE_URL=postgres://app:{pw.replace('@', '').replace('/', '').replace(':', '')}@db.internal:5432/app\n")
    else:
        body = (f"const config = {{\n  user: 'svc',\n  password: \"{pw}\",\n  githubToken: '{gh}',\n}};\n"
                f"module.exports = config;\n")
        c.update({"secret.github_token": 1})
    if rng.random() < 0.3:
        body = body.replace("\n", "\r\n")
    suffix = {"env": ".env", "sh": ".sh", "py": ".py", "yaml": ".yaml", "json": ".json", "ini": ".ini",
              "toml": ".toml", "xml": ".config", "properties": ".properties", "js": ".js", "compose": ".yml",
              "connstr": ".json", "spring_xml": ".xml", "url": ".env"}[kind]
    return f"secrets/{kind}_{i:02d}{suffix}", body.encode(), c


def key_files(rng: random.Random) -> list[File]:
    out: list[File] = []
    for name, pem in private_keys():
        public = ".pub" in name
        folder = "negatives" if public else "secrets"
        if not public and rng.random() < 0.3:
            pem = pem.replace("\n", "\r\n")
        out.append((f"{folder}/{name}", pem.encode(), {} if public else {"secret.private_key": 1}))
    # a key embedded in a JSON service-account file (literal \n escapes)
    _, pem = private_keys()[1]
    doc = json.dumps({"type": "service_account", "client_email": "svc@proj.iam.gserviceaccount.com", "private_key": pem})
    out.append(("secrets/service_account.json", doc.encode(), {"secret.private_key": 1, "pii.email": 1}))
    return out


def negatives_secrets(rng: random.Random, i: int) -> File:
    lines = [
        "# Copied from the vendor documentation; replace before use",
        "aws_access_key_id = AKIAIOSFODNN7EXAMPLE",
        "aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
        f"password: ${{{rng.choice(['DB_PASS', 'DB_PASSWORD', 'MYSQL_ROOT_PASSWORD'])}}}",
        f"password = \"{rng.choice(['changeme', 'changeit', '<your-password>', 'CHANGE_ME', '********'])}\"",
        f"DB_PASSWORD={rng.choice(['your_password_here', 'YOUR_PASSWORD', '<password>', '[PASSWORD]', '%DB_PASSWORD%', 'REPLACE_ME', 'xxxxxxxx'])}",
        f"\"password\": \"{rng.choice(['<your-password>', '${PASSWORD}', '{{password}}', 'your-password-here', 'CHANGEME'])}\",",
        "GITHUB_TOKEN=<your-token>",
        "-----BEGIN RSA PRIVATE KEY-----\n...\n-----END RSA PRIVATE KEY-----",
        "-----BEGIN CERTIFICATE-----\nMIIBszCCAVmgAwIBAgIUfakefakefakefakefakefakefake0wCgYIKoZIzj0EAwIw\n-----END CERTIFICATE-----",
        f"token: <your-token>",
        "DB_PASSWORD=",
        f"export PGPASSWORD=\"$PGPASSWORD\"",
        "password_min_length: 12",
        "GITHUB_TOKEN=ghp_xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
        "SLACK_TOKEN=xoxb-your-token-here",
        "password: \"{{ vault_db_password }}\"",
        "db_password = os.environ[\"DB_PASSWORD\"]",
        f"sha256: {hashlib.sha256(str(i).encode()).hexdigest()}",
        f"commit {hashlib.sha1(str(i).encode()).hexdigest()}",
        f"request_id={uuid.UUID(int=rng.getrandbits(128))}",
    ]
    rng.shuffle(lines)
    return f"negatives/secrets_{i:02d}.txt", ("\n".join(lines) + "\n").encode(), {}


def _order_number(rng: random.Random) -> str:
    """18 random digits that are not, by chance, a valid resident ID."""
    while True:
        n = str(rng.randrange(10**17, 10**18))
        if n[17] != "10X98765432"[sum(int(c) * w for c, w in zip(n, _W)) % 11]:
            return n


def negatives_numbers(rng: random.Random, i: int) -> File:
    bad_id = resident_id(rng, valid=False)
    lines = [
        f"订单号 {_order_number(rng)}",
        f"Order #{card(rng, valid=False)}",
        f"Ref: {card(rng, valid=False)}",
        f"编号：{bad_id}",
        f"运单号 SF{rng.randrange(10**11, 10**12)}",
        f"工号 12{rng.randrange(10**8, 10**9)}",
        f"座机 010-{rng.randrange(6000_0000, 8999_9999)}",
        f"客服热线 400-{rng.randrange(100, 999)}-{rng.randrange(1000, 9999)}",
        f"event_ts={rng.randrange(1_600_000_000_000, 1_800_000_000_000)}",
        f"timestamp: {rng.randrange(1_600_000_000, 1_800_000_000)}",
        f"Account {iban(rng, valid=False)}",
        f"Case 9{rng.randrange(10, 99)}-{rng.randrange(10, 99)}-{rng.randrange(1000, 9999)}",
        f"Part no. 666-{rng.randrange(10, 99)}-{rng.randrange(1000, 9999)}",
        f"trace_id={uuid.UUID(int=rng.getrandbits(128))}",
        f"md5 {hashlib.md5(str(rng.random()).encode()).hexdigest()}",
        f"Version {rng.randrange(1, 9)}.{rng.randrange(0, 20)}.{rng.randrange(0, 200)}",
        f"批次号 {rng.randrange(2019, 2025)}{rng.randrange(10**9, 10**10)}",
        f"ISBN 978-7-{rng.randrange(100, 999)}-{rng.randrange(10000, 99999)}-{rng.randrange(10)}",
        f"值 0.{rng.choice(_MOBILE_HEADS)}{rng.randrange(10**7, 10**8)}",
        f"总机 +86 10 {rng.randrange(6000, 8999)} {rng.randrange(1000, 9999)}",
        f"Tel: (021) {rng.randrange(5000, 6999)}-{rng.randrange(1000, 9999)}",
        f"传真 0755-{rng.randrange(8000_0000, 8999_9999)}",
        f"created_at: 2024-0{rng.randrange(1, 9)}-1{rng.randrange(0, 9)} 1{rng.randrange(0, 9)}:2{rng.randrange(0, 9)}:0{rng.randrange(0, 9)}",
        f"build {rng.randrange(2020, 2025)}0{rng.randrange(1, 9)}1{rng.randrange(0, 9)}{rng.randrange(100000, 999999)}",
        f"IMEI {rng.randrange(10**14, 10**15)}",
    ]
    rng.shuffle(lines)
    return f"negatives/numbers_{i:02d}.txt", ("\n".join(lines) + "\n").encode(), {}


def negatives_markings(rng: random.Random, i: int) -> File:
    lines = [
        "本文讨论了机密信息的管理，以及如何防止泄露。",
        "国家秘密的密级分为绝密、机密、秘密三级。",
        "培训材料：密级标志一般标注在首页左上角，例如“机密★10年”。",
        "公司内部控制制度已于今年修订。",
        "The secret to good bread is a long, slow rise.",
        "All personal data is treated as confidential under our policy.",
        "Internal audit reviewed the restricted areas of the warehouse.",
        "She kept the details top secret until the launch.",
        "We held the annual SECRET SANTA party on Friday.",
        "工作秘密不得在互联网上传输，这是本次培训的重点。",
        "内部资料的管理办法见附件二。",
        "The report explains how CONFIDENTIAL and SECRET documents are handled.",
        "《绝密档案》是一部热门的电视剧。",
        "TOP SECRET clearance is required for this position.",
        "Store API keys in Secret Manager, not in the repository.",
        "保密期限届满后，秘密级文件自行解密。",
    ]
    rng.shuffle(lines)
    body = fill(rng, "zh", 1) + lines + fill(rng, "en", 1)
    return f"negatives/markings_{i:02d}.txt", ("\n".join(body) + "\n").encode(), {}


_CN_STATE = ["机密★10年", "秘密★", "绝密★长期", "★机密", "机密 ★ 5年", "秘密★6个月", "绝密★2030年12月31日",
             "密级：机密", "密级：秘密  保密期限：3年", "机密", "秘密★五年", "機密★10年", "【机密】", "机密★１０年",
             "密级：★秘密", "秘密 ★1年", "绝密 ★ 长期", "★ 秘密"]
_CN_WORK = ["工作秘密", "内部资料 注意保存", "内部资料，注意保存", "内部", "工作秘密★1年", "内部资料（注意保存）",
            "内部资料 严禁外传"]
_CORP = ["Strictly Confidential", "[Confidential]", "Sensitivity: Highly Confidential", "ACME INTERNAL", "仅限内部使用", "Company Confidential", "Internal Use Only", "公司机密",
         "CONFIDENTIAL - DO NOT DISTRIBUTE", "Acme Corp | Proprietary and Confidential", "商业秘密", "Highly Confidential",
         "Classification: Internal"]
_US_BANNER = ["TOP SECRET//SI//NOFORN", "SECRET//NOFORN", "SECRET", "TOP SECRET//SCI", "CONFIDENTIAL//REL TO USA, FVEY",
              "UNCLASSIFIED//FOR OFFICIAL USE ONLY", "CUI", "SECRET//REL TO USA, GBR", "TOP SECRET // NOFORN",
              "CONTROLLED UNCLASSIFIED INFORMATION", "CUI//SP-PRVCY", "Classification: SECRET//NOFORN",
              "TOP SECRET//SI-G/TK//ORCON/NOFORN", "UNCLASSIFIED//FOUO", "[CONFIDENTIAL]"]
_US_PORTION = ["(TS//SI)", "(S//NF)", "(U//FOUO)", "(TS)", "(S)", "(C)", "(CUI)", "(S//REL TO USA, FVEY)",
               "(TS//SI//NF)", "(U//CUI)", "(C//REL)"]


def marking_file(rng: random.Random, i: int, family: str) -> File:
    lang = "en" if family in ("us", "corp_en") else "zh"
    body = fill(rng, lang, rng.randrange(4, 9))
    if family == "cn_state":
        mark, det = rng.choice(_CN_STATE), "marking.cn_state_secret"
    elif family == "cn_work":
        mark, det = rng.choice(_CN_WORK), "marking.cn_work_secret"
    elif family == "corp_en":
        mark, det = rng.choice([m for m in _CORP if m.isascii()]), "marking.corporate"
    elif family == "corp_zh":
        mark, det = rng.choice([m for m in _CORP if not m.isascii()]), "marking.corporate"
    else:
        mark, det = rng.choice(_US_BANNER), "marking.us_classification"
        if rng.random() < 0.5:
            body = [f"{rng.choice(_US_PORTION)} {ln}" for ln in body]
            if rng.random() < 0.5:
                mark = None  # portion marks alone
    lines = ([mark, ""] if mark else []) + (["某某单位关于做好年度工作的通知", ""] if lang == "zh" else []) + body
    if mark and (family == "us" or rng.random() < 0.4):
        lines += ["", mark]
    eol = rng.choice(["\n", "\n", "\r\n"])
    enc = rng.choice(["utf-8", "utf-8", "gb18030", "utf-16"]) if lang == "zh" else "utf-8"
    return f"markings/{family}_{i:02d}.txt", (eol.join(lines) + eol).encode(enc), {det: None}


def docx_marking(rng: random.Random, i: int) -> File:
    import docx as d

    mark, det = rng.choice([("机密★10年", "marking.cn_state_secret"), ("秘密★", "marking.cn_state_secret"),
                            ("内部资料 注意保存", "marking.cn_work_secret"), ("仅限内部使用", "marking.corporate"),
                            ("Company Confidential", "marking.corporate"), ("SECRET//NOFORN", "marking.us_classification")])
    doc = d.Document()
    doc.sections[0].header.paragraphs[0].text = mark
    m = mobile(rng)
    for ln in fill(rng, "zh", 4):
        doc.add_paragraph(ln)
    doc.add_paragraph(f"联系人手机：{m[:3]}-{m[3:7]}-{m[7:]}")
    out = io.BytesIO()
    doc.save(out)
    return f"office/memo_{i}.docx", out.getvalue(), {det: None, "pii.cn_mobile": 1}


Builder = Callable[[random.Random, int], File]


def generate(out: Path, seed: int = 1, per_kind: int = 6) -> dict[str, dict[str, object]]:
    rng = random.Random(seed)
    files: list[File] = []
    for i in range(per_kind):
        files += [pii_en(rng, i), pii_zh(rng, i), pii_zh(rng, i, wide=True), secrets_file(rng, i),
                  secrets_file(rng, i + 100), negatives_secrets(rng, i), negatives_numbers(rng, i),
                  negatives_markings(rng, i), docx_marking(rng, i)]
        files += [marking_file(rng, i, fam) for fam in ("cn_state", "cn_work", "corp_en", "corp_zh", "us")]
    files += [pii_roster(rng, i) for i in range(2)]
    files += key_files(rng)
    labels: dict[str, dict[str, object]] = {}
    for rel, data, expect in files:
        p = out / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(data)
        labels[rel] = {"expect": dict(sorted(expect.items())), "ignore": []}
    (out / "labels.json").write_text(json.dumps({"files": labels}, indent=1, ensure_ascii=False) + "\n")
    return labels


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("out", type=Path)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--files-per-kind", type=int, default=6)
    a = ap.parse_args()
    labels = generate(a.out, a.seed, a.files_per_kind)
    print(f"{len(labels)} files in {a.out}")


if __name__ == "__main__":
    main()

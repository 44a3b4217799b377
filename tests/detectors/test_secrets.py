"""Secret detectors through the real engine, with both prefilter backends.

Real private keys come from the real ``ssh-keygen`` and ``openssl`` (Debian
packages openssh-client and openssl, listed in .ci/apt-packages.txt).
"""

from __future__ import annotations

import base64
import json
import random
import string
import subprocess
import zlib
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from detectors.engine import Engine
from detectors.extract.segment import Segment
from detectors.findings import Severity, mask
from detectors.secrets.aws_access_key import AwsAccessKeyDetector
from detectors.secrets.aws_secret_key import AwsSecretKeyDetector
from detectors.secrets.github_token import GithubTokenDetector
from detectors.secrets.jwt import JwtDetector
from detectors.secrets.password import PasswordDetector
from detectors.secrets.private_key import PrivateKeyDetector
from detectors.secrets.slack_token import SlackTokenDetector
from tests.detectors.test_validators import b64url, base62, make_jwt

BACKENDS = ("hyperscan", "regex")
ALL = (AwsAccessKeyDetector, AwsSecretKeyDetector, GithubTokenDetector, SlackTokenDetector, JwtDetector,
       PrivateKeyDetector, PasswordDetector)
RNG = random.Random(7)


def rand(alphabet: str, n: int) -> str:
    return "".join(RNG.choice(alphabet) for _ in range(n))


ALNUM = string.ascii_letters + string.digits
AKID = "AKIA" + rand("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", 16)
ASID = "ASIA" + rand("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", 16)
AWS_SECRET = rand(ALNUM + "/+", 40)
GHP = "ghp_" + rand(ALNUM, 36)
SLACK_BOT = "xoxb-501861442703-1617487619712-" + rand(ALNUM, 24)
JWT = make_jwt({"alg": "HS256", "typ": "JWT"}, {"sub": "957845", "name": "j.smith", "iat": 1762381132})


ENGINES = [Engine([cls() for cls in ALL], backend=b) for b in BACKENDS]


@pytest.fixture(scope="module", params=BACKENDS)
def engine(request: pytest.FixtureRequest) -> Engine:
    return Engine([cls() for cls in ALL], backend=request.param)


def found(engine: Engine, text: str, detector: str | None = None) -> list[str]:
    ms = engine.scan(Segment(text=text, path="t"))
    return [m.value for m in ms if detector is None or m.detector == detector]


# --- secret.aws_access_key -------------------------------------------------------------------

@pytest.mark.parametrize(
    "text",
    [f"AWS_ACCESS_KEY_ID={AKID}", f"aws_access_key_id = {ASID}", f'"AccessKeyId": "{AKID}"',
     f"?AWSAccessKeyId={AKID}&Expires=1", f"key {AKID}。"],
)
def test_aws_access_key_found(engine: Engine, text: str) -> None:
    assert len(found(engine, text, "secret.aws_access_key")) == 1


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("aws_access_key_id = AKIAIOSFODNN7EXAMPLE", "AWS documentation key"),
        ("AKIAI44QH8DHBEXAMPLE", "AWS documentation key"),
        (f"X{AKID}", "inside a longer token"),
        (f"{AKID}9", "inside a longer token"),
        ("AKIA0000000000000000", "not base32"),
        ("AKIAAAAAAAAAAAAAAAAA", "no randomness"),
    ],
)
def test_aws_access_key_near_misses(engine: Engine, text: str, why: str) -> None:
    assert found(engine, text, "secret.aws_access_key") == [], why


# --- secret.aws_secret_key ---------------------------------------------------------------------

@pytest.mark.parametrize(
    "text",
    [
        f"AWS_SECRET_ACCESS_KEY={AWS_SECRET}",
        f"aws_secret_access_key = {AWS_SECRET}",
        f'"SecretAccessKey": "{AWS_SECRET}",',
        f"aws secret: {AWS_SECRET}",
        f"export AWS_SECRET_KEY='{AWS_SECRET}'",
        f"Access key ID,Secret access key\n{AKID},{AWS_SECRET}\n",
    ],
)
def test_aws_secret_found(engine: Engine, text: str) -> None:
    assert found(engine, text, "secret.aws_secret_key") == [AWS_SECRET]


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "AWS documentation key"),
        (f"checksum = {AWS_SECRET}", "40 characters without AWS context"),
        ("aws_secret_access_key = " + "a1b2c3d4e5" * 4, "hex/low entropy"),
        ("aws_secret_access_key = abcdefghijklmnopqrstuvwxyzabcdefghijklmn", "one character class"),
        ("aws_secret_access_key = " + "A1B2C3D4E5F6A7B8C9D0" * 2, "upper-case hex"),
        (f"aws_secret_access_key = {AWS_SECRET}XY", "longer than 40"),
    ],
)
def test_aws_secret_near_misses(engine: Engine, text: str, why: str) -> None:
    assert found(engine, text, "secret.aws_secret_key") == [], why


def test_aws_secret_is_critical(engine: Engine) -> None:
    (m,) = [m for m in engine.scan(Segment(text=f"AWS_SECRET_ACCESS_KEY={AWS_SECRET}", path="t"))
            if m.detector == "secret.aws_secret_key"]
    assert m.severity is Severity.CRITICAL


# --- secret.github_token -------------------------------------------------------------------------

def test_github_tokens_found(engine: Engine) -> None:
    pat = "github_pat_" + rand(ALNUM, 22) + "_" + rand(ALNUM, 59)
    text = f'GITHUB_TOKEN = "{GHP}"\nGH_TOKEN={pat}\ntoken: gho_{rand(ALNUM, 36)}\n'
    assert len(found(engine, text, "secret.github_token")) == 3


def test_github_checksum_raises_confidence(engine: Engine) -> None:
    body = rand(ALNUM, 30)
    good = "ghp_" + body + base62(zlib.crc32(body.encode()))
    ms = {m.value: m for m in engine.scan(Segment(text=f"{good}\n{GHP}\n", path="t"))}
    assert ms[good].attributes["checksum"] is True and ms[GHP].attributes["checksum"] is False
    assert ms[good].confidence > ms[GHP].confidence


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("ghp_" + "x" * 36, "placeholder"),
        ("ghp_EXAMPLE" + rand(ALNUM, 29), "example"),
        ("ghp_16C7e42F292c6912E7710c838347Ae178B4a", "GitHub documentation token"),
        (GHP + "a", "too long"),
        ("ghp_" + rand(ALNUM, 35), "too short"),
        ("xghp_" + rand(ALNUM, 36), "inside a token"),
        ("ghx_" + rand(ALNUM, 36), "unknown prefix"),
    ],
)
def test_github_near_misses(engine: Engine, text: str, why: str) -> None:
    assert found(engine, text, "secret.github_token") == [], why


# --- secret.slack_token ------------------------------------------------------------------------------

@pytest.mark.parametrize(
    "value",
    [
        SLACK_BOT,
        "xoxp-501861442703-501861442704-1617487619712-" + rand("0123456789abcdef", 32),
        "xapp-1-A0123456789-1617487619712-" + rand("0123456789abcdef", 64),
        "https://hooks.slack.com/services/T0123ABCD/B0456EFGH/" + rand(ALNUM, 24),
        "xoxe.xoxp-1-" + rand(ALNUM, 140),
    ],
)
def test_slack_found(engine: Engine, value: str) -> None:
    assert found(engine, f"SLACK_TOKEN={value}\n", "secret.slack_token") == [value]


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("SLACK_BOT_TOKEN=xoxb-your-token-here", "placeholder"),
        ("SLACK_BOT_TOKEN=xoxb-XXXXXXXXXXXX-XXXXXXXXXXXXX-XXXXXXXXXXXXXXXXXXXXXXXX", "placeholder"),
        ("token: xoxb-", "no token"),
        ("https://hooks.slack.com/services/T000/B000/XXXX", "placeholder webhook"),
    ],
)
def test_slack_near_misses(engine: Engine, text: str, why: str) -> None:
    assert found(engine, text, "secret.slack_token") == [], why


# --- secret.jwt ---------------------------------------------------------------------------------------

def test_jwt_found_in_code_and_headers(engine: Engine) -> None:
    assert found(engine, f'SESSION = "{JWT}"', "secret.jwt") == [JWT]
    assert found(engine, f"Authorization: Bearer {JWT}\r\n", "secret.jwt") == [JWT]
    long_jwt = make_jwt({"alg": "RS512", "kid": "k1"}, {"claims": ["c" * 20] * 40}, sig=b64url(bytes(512)))
    assert found(engine, f"token={long_jwt};", "secret.jwt") == [long_jwt]


def test_jwt_unsigned_found_with_lower_confidence(engine: Engine) -> None:
    unsigned = make_jwt({"alg": "none"}, {"sub": "admin"}, sig="")
    (m,) = [m for m in engine.scan(Segment(text=f"t={unsigned} ", path="t")) if m.detector == "secret.jwt"]
    assert m.value == unsigned and m.confidence < JwtDetector.base_confidence


@pytest.mark.parametrize(
    ("text", "why"),
    [
        (make_jwt({"typ": "JWT"}, {"sub": "1"}), "header without alg"),
        (b64url({"alg": "HS256"}) + "." + b64url(b"not json at all!") + "." + b64url(bytes(32)), "payload not JSON"),
        (make_jwt({"alg": "HS256"}, {"sub": "1"}, sig=""), "signed alg without signature"),
        ("eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0", "two parts"),
        ("eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIiwiaWF0IjoxNTE2MjM5MDIyfQ"
         ".SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c", "the jwt.io example"),
    ],
)
def test_jwt_near_misses(engine: Engine, text: str, why: str) -> None:
    assert found(engine, text, "secret.jwt") == [], why


# --- secret.private_key ----------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def real_keys(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    d = tmp_path_factory.mktemp("keys")
    keys: dict[str, str] = {}
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(d / "ed")], check=True)
    keys["openssh"] = (d / "ed").read_text()
    keys["openssh_pub"] = (d / "ed.pub").read_text()
    subprocess.run(["ssh-keygen", "-q", "-t", "ecdsa", "-m", "PEM", "-N", "", "-f", str(d / "ec")], check=True)
    keys["ec_pem"] = (d / "ec").read_text()
    subprocess.run(["openssl", "genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048",
                    "-out", str(d / "rsa.pem")], check=True, capture_output=True)
    keys["pkcs8"] = (d / "rsa.pem").read_text()
    subprocess.run(["openssl", "pkey", "-in", str(d / "rsa.pem"), "-pubout", "-out", str(d / "rsa.pub")],
                   check=True, capture_output=True)
    keys["spki_pub"] = (d / "rsa.pub").read_text()
    subprocess.run(["openssl", "pkcs8", "-topk8", "-in", str(d / "rsa.pem"), "-passout", "pass:pw",
                    "-v2", "aes-256-cbc", "-out", str(d / "enc.pem")], check=True, capture_output=True)
    keys["encrypted"] = (d / "enc.pem").read_text()
    subprocess.run(["openssl", "req", "-x509", "-key", str(d / "rsa.pem"), "-subj", "/CN=t", "-days", "1",
                    "-out", str(d / "cert.pem")], check=True, capture_output=True)
    keys["cert"] = (d / "cert.pem").read_text()
    return keys


@pytest.mark.parametrize("kind", ["openssh", "ec_pem", "pkcs8", "encrypted"])
def test_private_key_block_is_one_finding(engine: Engine, real_keys: dict[str, str], kind: str) -> None:
    key = real_keys[kind].strip()
    text = f"# deploy key\n{key}\nnext: line\n"
    ms = [m for m in engine.scan(Segment(text=text, path="t")) if m.detector == "secret.private_key"]
    assert [m.value for m in ms] == [key]
    assert ms[0].severity is Severity.CRITICAL
    body_line = key.splitlines()[1]
    assert body_line[4:-4] not in mask(ms[0].value)


def test_private_key_with_non_der_body_found_less_surely(engine: Engine) -> None:
    fake = "-----BEGIN RSA PRIVATE KEY-----\n" + base64.b64encode(bytes(range(7, 250))).decode() + "\n-----END RSA PRIVATE KEY-----"
    (m,) = [m for m in engine.scan(Segment(text=fake, path="t")) if m.detector == "secret.private_key"]
    assert m.value == fake and m.confidence < PrivateKeyDetector.base_confidence


def test_private_key_flattened_by_pdf_extraction(engine: Engine, real_keys: dict[str, str]) -> None:
    flat = " ".join(real_keys["pkcs8"].split("\n"))
    assert len(found(engine, f"page 3: {flat} end", "secret.private_key")) == 1


def test_private_key_in_json_string(engine: Engine, real_keys: dict[str, str]) -> None:
    doc = json.dumps({"type": "service_account", "private_key": real_keys["pkcs8"]})
    assert len(found(engine, doc, "secret.private_key")) == 1


def test_public_keys_and_certificates_are_not_findings(engine: Engine, real_keys: dict[str, str]) -> None:
    text = real_keys["openssh_pub"] + real_keys["spki_pub"] + real_keys["cert"]
    assert found(engine, text, "secret.private_key") == []


@pytest.mark.parametrize(
    "text",
    [
        "-----BEGIN RSA PRIVATE KEY-----\n...\n-----END RSA PRIVATE KEY-----",
        "-----BEGIN RSA PRIVATE KEY-----\nMIIEpAIBAAKCAQEA<snip>\n-----END RSA PRIVATE KEY-----",
        "-----BEGIN PRIVATE KEY-----\n" + base64.b64encode(b"\x30" + bytes(200)).decode() + "\n-----END RSA PRIVATE KEY-----",
        "-----BEGIN OPENSSH PRIVATE KEY-----\n" + base64.b64encode(bytes(200)).decode() + "\n-----END OPENSSH PRIVATE KEY-----",
        "-----BEGIN PRIVATE KEY-----\n" + base64.b64encode(b"\x30" + bytes(200)).decode() + "\n",
    ],
)
def test_private_key_near_misses(engine: Engine, text: str) -> None:
    assert found(engine, text, "secret.private_key") == []


# --- secret.password -------------------------------------------------------------------------------------

@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("DB_PASSWORD=!nbSIh4MmD^JIF0\n", "!nbSIh4MmD^JIF0"),
        ('  password: "*shRo^w!Rpc9A"\n', "*shRo^w!Rpc9A"),
        ("  password: uofO2SGh31WTLR4\n", "uofO2SGh31WTLR4"),
        ('{"username": "app", "password": "Tr0ub4dor&3"}', "Tr0ub4dor&3"),
        ("db_password = 'hunter2hunter2'", "hunter2hunter2"),
        ("spring.datasource.password=S3cr3t!x", "S3cr3t!x"),
        ("MYSQL_ROOT_PASSWORD: kP9#vL2q", "kP9#vL2q"),
        ("export PGPASSWORD=Zx81mQ", "Zx81mQ"),
        ("ENV_PASSWORD=Qa71!zz", "Qa71!zz"),
        ("conn = connect(host='db', password='q7Wm!x2p')", "q7Wm!x2p"),
        ("adminPassword := \"Xy12ab!\"", "Xy12ab!"),
        ("<password>Pl@ntext99</password>", "Pl@ntext99"),
        ('<add key="DbPassword" value="Qz8!kd92" />', "Qz8!kd92"),
        ('DataSource ds = builder.username("app").password("Jd8#mq2L").build();', "Jd8#mq2L"),
        ('cfg.setPassword("Xk29!fmQ");', "Xk29!fmQ"),
        ("machine api.corp.net login deploy password Nt7rc!x9", "Nt7rc!x9"),
        ("mysql --password=Zk29xQ7 -u root", "Zk29xQ7"),
        ("define('DB_PASSWORD', 'wp-P4ss!');", "wp-P4ss!"),
        ("CREATE USER app IDENTIFIED BY 'Ora_pw_991';", "Ora_pw_991"),
        ("Server=db;User Id=sa;Password=Sql$erver1;Encrypt=true", "Sql$erver1"),
        ("数据库密码：Abc@12345。", "Abc@12345"),
        ("初始口令为 Qw3rty!9，请及时修改", "Qw3rty!9"),
        ("DATABASE_URL=postgres://app:Pg7xLm2q@db.internal:5432/app", "Pg7xLm2q"),
        ("redis://:R3disPw9@cache:6379/0", "R3disPw9"),
        ("password: str = \"K8s!pw77\"", "K8s!pw77"),
        ("ADMIN_PASSWORD2=$aB3dE5fG9", "$aB3dE5fG9"),
        ("password: %Tr0ub4dor", "%Tr0ub4dor"),
        ("password = *FZAfKOhZ_g9ZJnXVQ", "*FZAfKOhZ_g9ZJnXVQ"),
        ("password = yGFGebhTpJPzfT", "yGFGebhTpJPzfT"),
        ("DB_PASSWORD=vkgDzVfbZKEy", "vkgDzVfbZKEy"),
        ("DB_PASSWORD=Yrmnzlptqd_IOJ", "Yrmnzlptqd_IOJ"),
        ('  password: "hE3%dMw0Cc"', "hE3%dMw0Cc"),
    ],
)
def test_password_found(engine: Engine, text: str, value: str) -> None:
    assert found(engine, text, "secret.password") == [value]


@pytest.mark.parametrize(
    "text",
    [
        "password: ${DB_PASSWORD}",
        "password = $DB_PASSWORD",
        'password = ""',
        "password: <your-password-here>",
        "password_policy: strong",
        "password = %(password)s",
        "password: {{ vault_db_password }}",
        "password: xxxxxxxx",
        "password: ********",
        "password: changeme",
        "password: null",
        "password = None",
        "password: true",
        "password = get_password()",
        'prompt = input_password("Enter your password")',
        "check_password(pw)",
        'password = ask_password("Password: ")',
        "splitpasswd('user:passwd') -> 'user', 'passwd'",
        'keyring.get_password("system", "user")',
        "password=os.environ['DB_PASSWORD']",
        "password = os.getenv('DB_PASSWORD')",
        "password: str",
        "password: Optional[str] = None",
        "def login(user, password=password, timeout=3):",
        "password = self.password",
        "Please enter your password below.",
        "Password: enter the one you chose at sign-up",
        '"password": "Enter your password"',
        '"password": "Password"',
        "密码：请输入您的密码",
        "password_hash = '$2b$12$abcdefghijklmnopqrstuv'",
        "password: !vault |",
        "min_password_length = 12",
        "hashed_password: 9f86d081884c7d659a2feaa0c55ad015",
        "reset_password: /account/reset?x=1",
        "forgot_password: /account/forgot",
        "bypass = True",
        "compass: north-east",
        "url = 'postgres://user:${PGPASS}@db/app'",
        "http://example.com:8080/path",
        "password: REDACTED",
        "# example: password = hunter2hunter2",
        "PASS=1234",
        "password: *default_password",
        f"git clone https://x-access-token:{GHP}@github.com/org/repo.git",
        "{'band': 'bandpass', 'pass': 'bandpass'}",
        "AttributeOID.CHALLENGE_PASSWORD: \"challengePassword\",",
        "password = 0x0000",
        '"password": "string?"',
        "an object identified by 'name' in the registry",
        "def f(password: str, pwd: bytes = None):",
        "e,rawPassword:t,signed:n,encryptionStrength:r",
        '"pass": \'The "pass" statement\\nThe pass statement is a null operation\'',
    ],
)
def test_password_placeholders_and_code_are_not_findings(engine: Engine, text: str) -> None:
    assert found(engine, text, "secret.password") == []


def test_password_bare_word_depends_on_the_kind_of_file(engine: Engine) -> None:
    # in code a bare word after "password:" is a type or a variable; in config it is the value
    def values(text: str, path: str) -> list[str]:
        return [m.value for m in engine.scan(Segment(text=text, path=path)) if m.detector == "secret.password"]

    assert values("def f(password: HiddenText): ...", "auth.py") == []
    assert values("password: Welcome", "outer.zip!deploy/app.yaml") == ["Welcome"]
    assert values("password: Welcome", "deploy/app.yaml") == ["Welcome"]
    assert values("password: welcome", "deploy/app.yaml") == []


def test_password_value_is_the_password_only(engine: Engine) -> None:
    text = 'cfg = {"password": "Tr0ub4dor&3", "user": "x"}'
    (m,) = [m for m in engine.scan(Segment(text=text, path="t")) if m.detector == "secret.password"]
    assert text[m.start:m.end] == "Tr0ub4dor&3" and m.severity is Severity.HIGH


# --- all together -------------------------------------------------------------------------------------------

def test_backends_agree_on_mixed_text(real_keys: dict[str, str]) -> None:
    text = (
        "# Example from the documentation: never use these values\n"
        "aws_access_key_id = AKIAIOSFODNN7EXAMPLE\n"
        f"AWS_ACCESS_KEY_ID={AKID}\nAWS_SECRET_ACCESS_KEY={AWS_SECRET}\n"
        f"SLACK_BOT_TOKEN={SLACK_BOT}\nDB_PASSWORD=!nbSIh4MmD^JIF0\npassword: ${{DB_PASSWORD}}\n"
        f'GITHUB_TOKEN = "{GHP}"\nSESSION = "{JWT}"\n'
        + real_keys["ec_pem"] + real_keys["spki_pub"]
        + "中文说明：密码：Abc@12345。\n"
    ) * 2
    results = []
    for backend in BACKENDS:
        engine = Engine([cls() for cls in ALL], backend=backend)
        results.append([(m.detector, m.start, m.end) for m in engine.scan(Segment(text=text, path="t"))])
    assert results[0] == results[1]
    counts: dict[str, int] = {}
    for det, _, _ in results[0]:
        counts[det] = counts.get(det, 0) + 1
    assert counts == {"secret.aws_access_key": 2, "secret.aws_secret_key": 2, "secret.slack_token": 2,
                      "secret.password": 4, "secret.github_token": 2, "secret.jwt": 2, "secret.private_key": 2}


FRAGMENTS = [
    "password", "=", ": ", '"', "'", "AKIA", "ASIA", "ghp_", "xoxb-", "eyJ", ".", "-----BEGIN ", "PRIVATE KEY",
    "-----END ", "-----", "\n", " ", "密码", "：", "://", "@", "aws_secret_access_key", "${", "}", "<", ">",
    "ABCDEFGHIJKLMNOP", "2345672345672345", "abcdefghij", "0123456789", "+/", "_", "(", ")", "\\n", AKID,
    AWS_SECRET, GHP, JWT, SLACK_BOT,
]


@settings(max_examples=150, deadline=None)
@given(st.lists(st.sampled_from(FRAGMENTS), max_size=40))
def test_arbitrary_mixtures_never_raise_and_backends_agree(parts: list[str]) -> None:
    text = "".join(parts)
    results = [
        [(m.detector, m.start, m.end) for m in engine.scan(Segment(text=text, path="t"))] for engine in ENGINES
    ]
    assert results[0] == results[1]


def test_keygen_tools_present() -> None:
    # the private-key tests rely on real tools; fail loudly rather than skip
    for tool in ("ssh-keygen", "openssl"):
        assert any((Path(p) / tool).exists() for p in ("/usr/bin", "/usr/local/bin", "/bin")), tool

"""The explicit registry of built-in detectors.

No discovery magic: a detector exists when it is listed here. The order is
the order findings are reported for equal offsets.
"""

from __future__ import annotations

from detectors.base import Detector
from detectors.markings.cn_state_secret import CnStateSecretDetector
from detectors.markings.cn_work_secret import CnWorkSecretDetector
from detectors.markings.corporate import CorporateMarkingDetector
from detectors.markings.us_classification import UsClassificationDetector
from detectors.pii.cn_mobile import CnMobileDetector
from detectors.pii.cn_resident_id import CnResidentIdDetector
from detectors.pii.email import EmailDetector
from detectors.pii.iban import IbanDetector
from detectors.pii.payment_card import PaymentCardDetector
from detectors.pii.us_ssn import UsSsnDetector
from detectors.secrets.aws_access_key import AwsAccessKeyDetector
from detectors.secrets.aws_secret_key import AwsSecretKeyDetector
from detectors.secrets.github_token import GithubTokenDetector
from detectors.secrets.jwt import JwtDetector
from detectors.secrets.password import PasswordDetector
from detectors.secrets.private_key import PrivateKeyDetector
from detectors.secrets.slack_token import SlackTokenDetector

BUILTIN: dict[str, type[Detector]] = {
    cls.id: cls
    for cls in (
        CnResidentIdDetector,
        CnMobileDetector,
        PaymentCardDetector,
        EmailDetector,
        UsSsnDetector,
        IbanDetector,
        AwsAccessKeyDetector,
        AwsSecretKeyDetector,
        GithubTokenDetector,
        SlackTokenDetector,
        JwtDetector,
        PrivateKeyDetector,
        PasswordDetector,
        CnStateSecretDetector,
        CnWorkSecretDetector,
        UsClassificationDetector,
        CorporateMarkingDetector,
    )
}

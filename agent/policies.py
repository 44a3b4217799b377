"""Everything the agent loads besides ``agent.yaml``, loaded (and so validated) in one place.

``leakwarden agent --check``, start-up and SIGHUP all call :func:`load_policies`,
so a policy that ``--check`` accepts is one the agent can run with, and a reload
builds the complete new set (device policy, destination categories, detection
policy, ML model) before it touches the running agent: any error leaves the old
configuration in place.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from agent.config import AgentConfig
from agent.destinations import Destinations
from agent.devicepolicy import DevicePolicy
from leakwarden.errors import ConfigError, ModelError

log = logging.getLogger("agent")


@dataclass(frozen=True)
class Policies:
    destinations: Destinations
    devices: DevicePolicy
    hash_key: bytes
    detector: Any = None  # detectors.scan.Scanner (None when detection.scan is false)


def load_policies(cfg: AgentConfig) -> Policies:
    """Load the files ``cfg`` names and build the detectors; raises ConfigError naming file and key."""
    destinations = Destinations.load(cfg.network.destinations) if cfg.network.destinations else Destinations.empty()
    devices = DevicePolicy.load(cfg.devices.policy) if cfg.devices.policy else DevicePolicy.default_policy()
    hash_key = cfg.hash_key
    if not hash_key:
        from detectors.scan import load_hash_key

        hash_key = load_hash_key(None)
    detector = None
    if cfg.scan:
        from detectors.policy import load_policy  # imported here: `leakwarden agent --help` stays light
        from detectors.scan import Scanner

        policy = load_policy(cfg.detection_policy)
        try:
            detector = Scanner(policy=policy, hash_key=hash_key)  # builds the detectors: loads the ML model
        except ModelError as e:
            raise ConfigError(policy.source, "ml.model", str(e)) from e
    return Policies(destinations, devices, hash_key, detector)

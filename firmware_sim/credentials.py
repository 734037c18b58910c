"""Each simulated device's own MQTT password, derived from its fleet's secret as a factory would.

Real boilers leave the factory with a unique secret; the simulator gets the same property without
storing thousands of passwords: a device's password is an HMAC of its id under the fleet's secret.
Whoever provisions the fleet (the composition root) derives the same values to register their hashes.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Callable

__all__ = ["device_password", "password_source"]


def device_password(fleet_secret: bytes, device_id: str) -> str:
    """The password of `device_id` in the fleet whose secret is `fleet_secret`."""
    digest = hmac.new(fleet_secret, device_id.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


def password_source(fleet_secret: bytes) -> Callable[[str], str]:
    """A function from device id to its password, for `LinkPool`."""
    return lambda device_id: device_password(fleet_secret, device_id)

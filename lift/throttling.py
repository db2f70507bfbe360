"""Request throttles: per user for the API, per address for anonymous calls, per username for sign-in.

Counts live in the default cache (Redis outside the demo), so every web worker shares them. Rates come
from REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"] at request time (DRF copies them into the class when it is
imported, so a changed setting would otherwise never be seen). A throttled call is a 429 with a JSON
detail and Retry-After (lift.api_errors turns DRF's Throttled into our error body).
"""
import hashlib

from rest_framework.settings import api_settings
from rest_framework.throttling import AnonRateThrottle, SimpleRateThrottle, UserRateThrottle


class _RatesFromSettings:
    def get_rate(self):
        return api_settings.DEFAULT_THROTTLE_RATES.get(self.scope)


class AnonThrottle(_RatesFromSettings, AnonRateThrottle):
    scope = "anon"


class UserThrottle(_RatesFromSettings, UserRateThrottle):
    scope = "user"


class LoginThrottle(_RatesFromSettings, SimpleRateThrottle):
    """Password guesses: counted per (address, username tried), so one attacker cannot lock out everyone."""

    scope = "login"

    def get_cache_key(self, request, view):
        data = request.data
        username = str(data.get("username", ""))[:150].strip().lower() if hasattr(data, "get") else ""
        # Hashed: a username is arbitrary text, and cache keys must stay short and plain.
        tried = hashlib.sha256(username.encode()).hexdigest()[:32]
        return self.cache_format % {"scope": self.scope, "ident": f"{self.get_ident(request)}:{tried}"}

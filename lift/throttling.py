"""Request throttles: per user for the API, per address for anonymous calls, per username for sign-in.

Counts live in the default cache (Redis outside the demo), so every web worker shares them. Rates come
from REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"] at request time (DRF copies them into the class when it is
imported, so a changed setting would otherwise never be seen). A throttled call is a 429 with a JSON
detail and Retry-After (lift.api_errors turns DRF's Throttled into our error body).

On Redis a request costs one round trip: DRF's sliding window, kept as a sorted set of request times and
checked by a Lua script, instead of DRF's two (read the history, write it back) with the whole history
list pickled each way — at the user rate, up to 3,000 timestamps per request (bench/RESULTS.md, profile).
"""
import hashlib
import uuid

from django.core.cache import caches
from django.core.cache.backends.redis import RedisCache
from rest_framework.settings import api_settings
from rest_framework.throttling import AnonRateThrottle, SimpleRateThrottle, UserRateThrottle

# KEYS[1] the window's sorted set; ARGV: now, window seconds, allowed requests, a unique member.
# Returns {1} when allowed (the request is recorded), {0, oldest} when not (nothing is recorded).
SLIDING_WINDOW = """
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', tonumber(ARGV[1]) - tonumber(ARGV[2]))
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[3]) then
  return {0, redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')[2]}
end
redis.call('ZADD', KEYS[1], ARGV[1], ARGV[4])
redis.call('EXPIRE', KEYS[1], math.ceil(tonumber(ARGV[2])))
return {1}
"""


def _sliding_window(cache: RedisCache):
    # Django makes a new client object on every call (cheap to use, not to build): one per cache object, that
    # is per thread, shares the same connection pool. The script goes by its hash (EVALSHA), not its text.
    script = getattr(cache, "_lift_sliding_window", None)
    if script is None:
        script = cache._lift_sliding_window = cache._cache.get_client(write=True).register_script(SLIDING_WINDOW)
    return script


class _RatesFromSettings:
    def get_rate(self):
        return api_settings.DEFAULT_THROTTLE_RATES.get(self.scope)

    def allow_request(self, request, view):
        cache = caches["default"]
        if not isinstance(cache, RedisCache) or self.rate is None:
            return super().allow_request(request, view)  # the demo's in-memory cache: DRF's own way
        self.key = self.get_cache_key(request, view)
        if self.key is None:
            return True
        key = cache.make_key(self.key)
        now = self.timer()
        answer = _sliding_window(cache)(
            keys=[key], args=[repr(now), self.duration, self.num_requests, f"{now!r}:{uuid.uuid4().hex[:8]}"])
        self.wait_seconds = 0.0 if answer[0] else max(0.0, float(answer[1]) + self.duration - now)
        return bool(answer[0])

    def wait(self):
        return self.wait_seconds if hasattr(self, "wait_seconds") else super().wait()


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

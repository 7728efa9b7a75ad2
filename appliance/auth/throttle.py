"""Slow down password guessing: lock a username or an address after repeated failures."""

from __future__ import annotations

import time
from collections import defaultdict, deque
from dataclasses import dataclass, field

from appliance.errors import TooManyAttempts


@dataclass
class LoginThrottle:
    """Count failed logins per username and per address in a sliding window."""

    max_failures: int = 5
    window_s: float = 15 * 60
    lockout_s: float = 5 * 60
    _failures: dict[str, deque[float]] = field(default_factory=lambda: defaultdict(deque))
    _locked_until: dict[str, float] = field(default_factory=dict)

    def _keys(self, username: str, ip: str) -> list[str]:
        return [f"u:{username.lower()}", f"ip:{ip}"]

    def check(self, username: str, ip: str) -> None:
        """Raise TooManyAttempts while the username or the address is locked."""
        t = time.monotonic()
        for key in self._keys(username, ip):
            until = self._locked_until.get(key, 0.0)
            if until > t:
                minutes = max(1, round((until - t) / 60))
                raise TooManyAttempts(minutes=minutes)

    def failed(self, username: str, ip: str) -> None:
        """Record a failed login, and lock once there are too many in the window."""
        t = time.monotonic()
        for key in self._keys(username, ip):
            attempts = self._failures[key]
            attempts.append(t)
            while attempts and attempts[0] < t - self.window_s:
                attempts.popleft()
            if len(attempts) >= self.max_failures:
                self._locked_until[key] = t + self.lockout_s
                attempts.clear()

    def succeeded(self, username: str, ip: str) -> None:
        """Forget the failures of a username after a good login (the address keeps its count)."""
        key = f"u:{username.lower()}"
        self._failures.pop(key, None)
        self._locked_until.pop(key, None)

"""Children are reaped even when the event loop misses their exit."""

from __future__ import annotations

import os
import signal
import time

from appliance.process import reap_by_hand


def test_a_child_is_reaped_by_hand_once_it_has_exited_and_only_then() -> None:
    pid = os.posix_spawnp("sleep", ["sleep", "30"], dict(os.environ))
    assert reap_by_hand(pid) is None, "a running child is left alone"
    os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + 5
    code = None
    while code is None and time.monotonic() < deadline:
        code = reap_by_hand(pid)
        time.sleep(0.05)
    assert code == -signal.SIGKILL
    assert reap_by_hand(pid) == -1, "a child already reaped is told apart"

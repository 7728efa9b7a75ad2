"""Keep Python's garbage collector from pausing the appliance under load.

After start-up the heap holds hundreds of thousands of long-lived objects (NiceGUI, Tortoise's models,
the add-ons). A full collection walks all of them: tens of milliseconds, paid again and again while
detections arrive a thousand a second. `settle()` moves what start-up made into the permanent
generation (gc.freeze), so collections only walk what came after. With bench/events.py at 1,000
Frigate events a second the effect was within the run-to-run noise on the 2-core test machine
(p99 120-360 ms either way); it is kept because it can only shorten the collector's pauses.
"""

from __future__ import annotations

import gc


def settle() -> None:
    """Collect once, then freeze what is left: everything alive now is kept for the process's life anyway."""
    gc.collect()
    gc.freeze()

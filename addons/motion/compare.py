"""Compare each small frame with a running background, in numpy: which pixels changed, and where.

Per frame (320x180: about 0.3 ms of one core, see README.md):
1. the brightness plane is blurred (a 5x5 box), so that single noisy pixels and compression blocks
   do not count;
2. it is compared with the background, a running average of earlier blurred frames that follows
   the picture with a time constant of about 2 s, so that slow changes (daylight, a parked car)
   become background;
3. a pixel has changed when its brightness differs from the background by more than the camera's
   threshold (from its sensitivity);
4. changed pixels are counted inside the zones (the whole picture when there are none) and outside
   the masks; motion is when they cover at least the minimum area (a percentage of the whole picture);
5. a zone saw motion when that minimum area changed inside it (half the zone, for a zone smaller
   than twice the minimum);
6. when most of the unmasked picture changes at once (lights switched on, the camera's infrared
   night mode, a cloud), it is a change of lighting, not motion: the background starts again from
   this frame.

A Comparer is used by one thread at a time (the add-on's one worker thread).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from addons.motion.config import CameraMotion, Point

BLUR_RADIUS = 2  # a 5x5 box
BACKGROUND_S = 2.0  # the running average's time constant
LIGHTING_FRACTION = 0.8  # of the unmasked picture changed at once: a change of lighting

Mask = npt.NDArray[np.bool_]


def rasterise(points: Sequence[Point], width: int, height: int) -> Mask:
    """Return which pixels of a width x height picture have their centre inside the polygon (even-odd rule)."""
    xs = (np.arange(width, dtype=np.float64) + 0.5) / width
    ys = (np.arange(height, dtype=np.float64) + 0.5) / height
    x, y = np.meshgrid(xs, ys)
    inside = np.zeros((height, width), dtype=np.bool_)
    for (x1, y1), (x2, y2) in zip(points, [*points[1:], points[0]], strict=True):
        if y1 == y2:
            continue  # a horizontal edge crosses no horizontal ray
        spans = (y1 > y) != (y2 > y)
        crossing = x1 + (y - y1) * (x2 - x1) / (y2 - y1)
        inside ^= spans & (x < crossing)
    return inside


@dataclass(frozen=True)
class Regions:
    """Where motion counts, at one frame size."""

    active: Mask  # inside the zones (everywhere when there are none), outside the masks
    unmasked: Mask  # outside the masks
    zones: tuple[tuple[str, Mask, int], ...]  # name, pixels (outside the masks), changed pixels it needs
    min_pixels: int

    @classmethod
    def build(cls, settings: CameraMotion, width: int, height: int) -> Regions:
        """Rasterise a camera's zones and masks for frames of this size."""
        masked = np.zeros((height, width), dtype=np.bool_)
        for mask in settings.masks:
            masked |= rasterise(mask.points, width, height)
        unmasked = ~masked
        min_pixels = max(1, math.ceil(settings.min_area_pct / 100.0 * width * height))
        zones = []
        covered = np.zeros((height, width), dtype=np.bool_)
        for zone in settings.zones:
            pixels = rasterise(zone.points, width, height) & unmasked
            covered |= pixels
            zones.append((zone.name, pixels, max(1, min(min_pixels, int(np.count_nonzero(pixels)) // 2))))
        active = covered if settings.zones else unmasked
        return cls(active=active, unmasked=unmasked, zones=tuple(zones), min_pixels=min_pixels)


@dataclass(frozen=True)
class Measurement:
    """What one frame showed."""

    motion: bool = False
    changed: int = 0  # changed pixels where motion counts
    score: float = 0.0  # changed pixels as a share of where motion counts, 0..1
    zones: tuple[str, ...] = ()
    lighting: bool = False  # most of the picture changed at once: ignored, the background starts again


def blur(frame: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
    """Return the frame blurred with a (2r+1)x(2r+1) box (its sum, which only scales the threshold)."""
    r = BLUR_RADIUS
    height, width = frame.shape
    padded = np.pad(frame, r, mode="edge")
    rows = padded[:, 0:width].copy()
    for dx in range(1, 2 * r + 1):
        rows += padded[:, dx : dx + width]
    out = rows[0:height].copy()
    for dy in range(1, 2 * r + 1):
        out += rows[dy : dy + height]
    return out


class Comparer:
    """Tell motion from stillness in one camera's frames."""

    def __init__(self, width: int, height: int, settings: CameraMotion, fps: float) -> None:
        self.width = width
        self.height = height
        self.alpha = 1.0 - math.exp(-1.0 / (fps * BACKGROUND_S))
        self.background: npt.NDArray[np.float32] | None = None
        self.configure(settings)

    def configure(self, settings: CameraMotion) -> None:
        """Take new settings (sensitivity, area, zones, masks) without forgetting the background."""
        self.settings = settings
        self.regions = Regions.build(settings, self.width, self.height)
        self.active_pixels = max(1, int(np.count_nonzero(self.regions.active)))
        self.unmasked_pixels = max(1, int(np.count_nonzero(self.regions.unmasked)))
        # blur() sums (2r+1)^2 pixels, so the threshold is scaled by as much rather than the sum divided
        self.threshold = settings.threshold * (2 * BLUR_RADIUS + 1) ** 2

    def feed(self, luma: bytes | memoryview) -> Measurement:
        """Compare one brightness plane (width x height bytes) with the background, then update the background."""
        frame = np.frombuffer(luma, dtype=np.uint8, count=self.width * self.height).reshape(self.height, self.width)
        blurred = blur(frame.astype(np.float32))
        background = self.background
        if background is None:
            self.background = blurred
            return Measurement()
        changed = np.abs(blurred - background) > self.threshold
        if np.count_nonzero(changed & self.regions.unmasked) >= LIGHTING_FRACTION * self.unmasked_pixels:
            self.background = blurred
            return Measurement(lighting=True)
        background += self.alpha * (blurred - background)
        regions = self.regions
        counted = int(np.count_nonzero(changed & regions.active))
        if counted < regions.min_pixels:
            return Measurement(changed=counted, score=counted / self.active_pixels)
        zones = tuple(name for name, pixels, needs in regions.zones if np.count_nonzero(changed & pixels) >= needs)
        return Measurement(motion=True, changed=counted, score=min(1.0, counted / self.active_pixels), zones=zones)

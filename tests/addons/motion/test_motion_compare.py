"""The comparison on synthetic frames: a still street with sensor noise, and a block walking across it."""

from __future__ import annotations

import time
from collections.abc import Iterator

import numpy as np
import numpy.typing as npt
import pytest

from addons.motion.compare import Comparer, Measurement, rasterise
from addons.motion.config import CameraMotion, Polygon

WIDTH, HEIGHT = 320, 180
FPS = 3
LEFT_HALF = ((0.0, 0.0), (0.5, 0.0), (0.5, 1.0), (0.0, 1.0))
RIGHT_HALF = ((0.5, 0.0), (1.0, 0.0), (1.0, 1.0), (0.5, 1.0))

Image = npt.NDArray[np.uint8]


def street(seed: int = 7) -> npt.NDArray[np.float32]:
    """Return a still scene: a brightness gradient with some texture (walls, a road)."""
    rng = np.random.default_rng(seed)
    gradient = np.linspace(40, 200, WIDTH, dtype=np.float32)[None, :].repeat(HEIGHT, axis=0)
    texture = rng.normal(0, 12, (HEIGHT // 10, WIDTH // 10)).repeat(10, axis=0).repeat(10, axis=1)
    return (gradient + texture).astype(np.float32)


def frames(count: int, *, block_from: tuple[int, int] | None = None, step: tuple[int, int] = (12, 0),
           size: int = 24, noise: float = 3.0, seed: int = 1) -> Iterator[Image]:  # fmt: skip
    """Yield frames of the street with sensor noise, and a bright block moving by `step` each frame if asked."""
    rng = np.random.default_rng(seed)
    scene = street()
    for index in range(count):
        frame = scene + rng.normal(0, noise, scene.shape)
        if block_from is not None:
            x = block_from[0] + index * step[0]
            y = block_from[1] + index * step[1]
            frame[y : y + size, x : x + size] = 250.0
        yield np.clip(frame, 0, 255).astype(np.uint8)


def run(comparer: Comparer, images: Iterator[Image]) -> list[Measurement]:
    return [comparer.feed(image.tobytes()) for image in images]


def test_a_still_picture_with_sensor_noise_shows_no_motion() -> None:
    comparer = Comparer(WIDTH, HEIGHT, CameraMotion(sensitivity=80), FPS)
    results = run(comparer, frames(30, noise=4.0))
    assert not any(m.motion for m in results)
    assert max(m.changed for m in results) < comparer.regions.min_pixels


def test_a_block_walking_across_the_picture_is_motion() -> None:
    comparer = Comparer(WIDTH, HEIGHT, CameraMotion(), FPS)
    results = run(comparer, frames(20, block_from=(20, 80)))
    assert not results[0].motion  # the first frame only starts the background
    assert all(m.motion for m in results[1:])
    assert all(0.0 < m.score < 0.1 for m in results[1:])  # a 24x24 block and its trail: a few % of the picture
    assert all(m.zones == () for m in results)  # no zones drawn


def test_motion_inside_a_mask_is_ignored_and_outside_it_is_not() -> None:
    masked = CameraMotion(masks=(Polygon(points=LEFT_HALF),))
    comparer = Comparer(WIDTH, HEIGHT, masked, FPS)
    assert not any(m.motion for m in run(comparer, frames(12, block_from=(10, 80), step=(8, 0))))  # x 10..122
    comparer = Comparer(WIDTH, HEIGHT, masked, FPS)
    assert any(m.motion for m in run(comparer, frames(12, block_from=(180, 80), step=(8, 0))))


def test_zones_that_saw_motion_are_named_and_motion_outside_every_zone_does_not_count() -> None:
    settings = CameraMotion(zones=(Polygon(name="Ngõ 12", points=LEFT_HALF), Polygon(name="Cổng", points=RIGHT_HALF)))
    comparer = Comparer(WIDTH, HEIGHT, settings, FPS)
    results = run(comparer, frames(8, block_from=(20, 60), step=(10, 0)))[1:]  # x 20..90: left half only
    assert all(m.motion and m.zones == ("Ngõ 12",) for m in results)

    comparer = Comparer(WIDTH, HEIGHT, settings, FPS)
    crossing = run(comparer, frames(8, block_from=(120, 60), step=(10, 0)))[1:]  # x 130..190: crosses the middle
    assert {zone for m in crossing for zone in m.zones} == {"Ngõ 12", "Cổng"}

    only_left = CameraMotion(zones=(Polygon(name="Ngõ 12", points=LEFT_HALF),))
    comparer = Comparer(WIDTH, HEIGHT, only_left, FPS)
    assert not any(m.motion for m in run(comparer, frames(8, block_from=(200, 60), step=(10, 0))))


def test_the_minimum_area_and_the_sensitivity_decide_what_counts() -> None:
    small_block = list(frames(10, block_from=(20, 80), size=8))
    assert any(m.motion for m in run(Comparer(WIDTH, HEIGHT, CameraMotion(min_area_pct=0.1), FPS), iter(small_block)))
    assert not any(m.motion for m in run(Comparer(WIDTH, HEIGHT, CameraMotion(min_area_pct=2.0), FPS),
                                         iter(small_block)))  # fmt: skip

    def faint(index: int, image: Image) -> Image:  # a block only 20 levels brighter than the wall behind it
        out = image.astype(np.int16)
        x = 20 + 12 * index
        out[80:104, x : x + 24] += 20
        return np.clip(out, 0, 255).astype(np.uint8)

    faint_frames = [faint(i, image) for i, image in enumerate(frames(10))]
    assert not any(m.motion for m in run(Comparer(WIDTH, HEIGHT, CameraMotion(sensitivity=20), FPS),
                                         iter(faint_frames)))  # fmt: skip
    assert any(m.motion for m in run(Comparer(WIDTH, HEIGHT, CameraMotion(sensitivity=90), FPS), iter(faint_frames)))


def test_lights_switched_on_are_not_motion_and_the_picture_then_counts_as_still() -> None:
    comparer = Comparer(WIDTH, HEIGHT, CameraMotion(), FPS)
    dark, lit = list(frames(5)), [np.clip(image.astype(np.int16) + 70, 0, 255).astype(np.uint8) for image in frames(5)]
    results = run(comparer, iter(dark + lit))
    assert results[5].lighting and not results[5].motion
    assert not any(m.motion for m in results)


def test_new_settings_apply_without_forgetting_the_background() -> None:
    comparer = Comparer(WIDTH, HEIGHT, CameraMotion(), FPS)
    walking = list(frames(10, block_from=(20, 80)))
    assert all(m.motion for m in run(comparer, iter(walking[:5]))[1:])
    comparer.configure(CameraMotion(masks=(Polygon(points=((0, 0), (1, 0), (1, 1), (0, 1))),)))
    after = run(comparer, iter(walking[5:]))
    assert not any(m.motion for m in after)
    assert not any(m.lighting for m in after)


def test_polygons_cover_the_pixels_whose_centres_they_enclose() -> None:
    triangle = rasterise(((0.0, 0.0), (0.95, 0.0), (0.0, 0.95)), 10, 10)
    assert triangle[0, 0] and not triangle[9, 9]
    assert int(triangle.sum()) == 45  # the centres (i + 0.5) / 10 with x + y < 0.95: i + j <= 8
    square = rasterise(((0.2, 0.2), (0.6, 0.2), (0.6, 0.6), (0.2, 0.6)), 10, 10)
    assert int(square.sum()) == 16
    assert square[2:6, 2:6].all()
    bow_tie = rasterise(((0.0, 0.0), (1.0, 1.0), (1.0, 0.0), (0.0, 1.0)), 10, 10)  # crossing edges: even-odd
    assert bow_tie[5, 1] and bow_tie[5, 8]  # the left and right triangles
    assert not bow_tie[1, 5] and not bow_tie[8, 5]  # not the top and bottom ones


def test_a_frame_costs_well_under_a_millisecond_or_two() -> None:
    settings = CameraMotion(zones=(Polygon(name="Ngõ", points=LEFT_HALF),), masks=(Polygon(points=RIGHT_HALF),))
    comparer = Comparer(WIDTH, HEIGHT, settings, FPS)
    images = [image.tobytes() for image in frames(10, block_from=(20, 80))]
    comparer.feed(images[0])
    started = time.process_time()
    for index in range(100):
        comparer.feed(images[index % 10])
    per_frame_ms = (time.process_time() - started) * 1000 / 100
    assert per_frame_ms < 2.0, per_frame_ms  # 0.35 ms measured on this machine


@pytest.mark.parametrize("sensitivity, threshold", [(1, 54.5), (50, 30.0), (100, 5.0)])
def test_sensitivity_maps_to_a_change_of_brightness(sensitivity: int, threshold: float) -> None:
    assert CameraMotion(sensitivity=sensitivity).threshold == threshold

"""Filming a scene: the cast of objects and props, the backdrop they lie on, and the frames a moving camera
(or a swirling flow) makes of them."""
from __future__ import annotations

import math
from typing import NamedTuple

import cv2
import numpy as np

from .motions import CAMERA_MOTIONS, Stage, affine, compose, invert, random_direction
from .sprites import make_sprite, paint_sprite, shadow_of
from .textures import background, desaturate, fractal_noise


def _shoot(scene, camera, height, width):
    """The frames (T, h, w, 3) a camera (T, 2, 3: frame pixel -> scene pixel) sees of a still scene."""
    frames = np.empty((len(camera), height, width, 3), np.float32)
    for frame, view in zip(frames, camera):
        cv2.warpAffine(scene, view, (width, height), dst=frame,
                       flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP, borderMode=cv2.BORDER_REFLECT101)
    return frames


class Cast(NamedTuple):
    """What a clip shows whatever its motion: moving objects (smallest first) and still props, with the
    shadows both throw, and how colourful the scene is."""

    sprites: list
    shadows: list                      # one per sprite, or none for a clip without shadows
    props: list
    prop_shadows: list
    shadow_offset: np.ndarray          # where the light throws shadows, in pixels (x, y)
    keep_saturation: float


def make_cast(rng, height, width) -> Cast:
    """The objects, props and shadows of one clip, sized to its shorter side."""
    short = min(height, width)
    keep_saturation = rng.uniform(0.35, 1.0)
    movers = np.sort(short * np.exp(rng.uniform(np.log(0.06), np.log(0.3), int(rng.integers(2, 6)))))
    still = short * np.exp(rng.uniform(np.log(0.05), np.log(0.25), int(rng.integers(0, 6))))
    sprites = [make_sprite(rng, max(radius, 1.5), keep_saturation) for radius in movers]
    props = [make_sprite(rng, max(radius, 1.5), keep_saturation) for radius in still]
    strength = rng.uniform(0.25, 0.55) if rng.random() < 0.6 else 0
    shadows = [shadow_of(sprite, strength) for sprite in sprites] if strength else []
    prop_shadows = [shadow_of(sprite, strength) for sprite in props] if strength else []
    offset = rng.uniform(0.02, 0.07) * short * random_direction(rng)
    return Cast(sprites, shadows, props, prop_shadows, offset, keep_saturation)


def _paint_cast(frames, sprites, shadows, paths, shadow_offset):
    """Paint sprites back to front, each after its shadow, sprite k through paths[k] (T, 2, 3)."""
    shift = np.zeros((2, 3))
    shift[:, 2] = shadow_offset                      # moves a map's output by the shadow's offset
    for index, (sprite, maps) in enumerate(zip(sprites, paths)):
        if shadows:
            paint_sprite(frames, shadows[index], maps + shift)
        paint_sprite(frames, sprite, maps)
    return frames


def _backdrop(rng, cast, height, width):
    """The scene's backdrop with the still props lying on it."""
    scene = desaturate(background(rng, height, width).astype(np.float32), cast.keep_saturation)
    spots = rng.uniform(0, 1, (len(cast.props), 2)) * [width, height]
    paths = [affine(spot, rng.uniform(0, 2 * np.pi), 1, ((prop.rgba.shape[0] - 1) / 2,) * 2)
             for spot, prop in zip(spots, cast.props)]
    return _paint_cast(scene[None], cast.props, cast.prop_shadows, paths, cast.shadow_offset)[0]


def film_camera(rng, motion, cast, frames, height, width):
    """Objects and a camera moving over a backdrop, as the named motion directs."""
    stage = Stage(rng, frames, height, width, cast.sprites)
    (canvas_h, canvas_w), camera, paths = CAMERA_MOTIONS[motion](stage)
    camera = np.broadcast_to(camera, (frames, 2, 3))            # a still camera is one map
    scene = _backdrop(rng, cast, canvas_h, canvas_w)
    clip = _shoot(scene, camera, height, width)
    screen_paths = [compose(invert(camera), path) for path in paths]
    return _paint_cast(clip, cast.sprites, cast.shadows, screen_paths, cast.shadow_offset)


def film_flow(rng, cast, frames, height, width):
    """A still scene carried along a smooth, swirling, divergence-free flow, like ink in water."""
    short = min(height, width)
    speed = min(rng.uniform(0.008, 0.025), 0.35 / max(frames - 1, 1)) * short
    margin = math.ceil(speed * frames) + 2
    canvas_h, canvas_w = height + 2 * margin, width + 2 * margin
    scene = _backdrop(rng, cast, canvas_h, canvas_w)
    spots = rng.uniform(0.1, 0.9, (len(cast.sprites), 2)) * [width, height] + margin
    paths = [affine(spot, rng.uniform(0, 2 * np.pi), 1, ((sprite.rgba.shape[0] - 1) / 2,) * 2)
             for spot, sprite in zip(spots, cast.sprites)]
    scene = _paint_cast(scene[None], cast.sprites, cast.shadows, paths, cast.shadow_offset)[0]
    flow_x, flow_y = _swirl(rng, canvas_h, canvas_w, speed)
    ys, xs = np.mgrid[margin:margin + height, margin:margin + width].astype(np.float32)
    clip = []
    for _ in range(frames):
        clip.append(cv2.remap(scene, xs, ys, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT101))
        # trace each pixel one frame further back along the (steady) flow to where its colour came from
        step_x = cv2.remap(flow_x, xs, ys, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
        step_y = cv2.remap(flow_y, xs, ys, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
        xs, ys = xs - step_x, ys - step_y
    return np.stack(clip)


def _swirl(rng, height, width, speed):
    """A velocity field (x, y components) whose fastest point moves `speed` pixels a frame."""
    stream = fractal_noise(rng, height, width, rng.uniform(1.5, 4), 2, 0.5)
    grad_y, grad_x = np.gradient(stream)
    drift = rng.uniform(0, 0.5) * random_direction(rng)          # an overall current under the eddies
    peak = max(np.sqrt(grad_x ** 2 + grad_y ** 2).max(), 1e-6)
    flow_x, flow_y = grad_y / peak + drift[0], -grad_x / peak + drift[1]
    scale = speed / max(np.sqrt(flow_x ** 2 + flow_y ** 2).max(), 1e-6)
    return (flow_x * scale).astype(np.float32), (flow_y * scale).astype(np.float32)

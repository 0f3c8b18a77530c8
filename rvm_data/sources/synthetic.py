"""Procedural matting footage for the built-in sample set: moving people with a fine alpha, and scenes.

Everything is vectorised numpy/OpenCV on float32 grids and driven by an explicit
``np.random.Generator``, so the same generator state gives the same pixels.

Each person is layered back to front (back hair, torso and jacket, arms and sleeves, neck, bun,
head, glasses, hair cap, hair strands, cap, a translucent scarf); people vary in build, pose, skin
tone, hair style and colour, clothes and accessories, and some clips hold several and composited
with premultiplied "over". Edges come from signed distances (1-2 px ramps), hair strands are
anti-aliased curves drawn at 2x and area-downsampled, so the matte has the fractional, thin
structures real mattes have.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import cv2
import numpy as np

Array = np.ndarray
Point = Sequence[float] | Array  # (x, y)
Sdf = Callable[[Array, Array, tuple[slice, slice]], Array]
"""A shape's signed distance ``sdf(x, y, box)`` on the pixel grids of ``box``."""
_SHIFT = 4  # fixed-point bits for sub-pixel cv2 drawing
_ONE = 1 << _SHIFT


def fractal_noise(rng: np.random.Generator, height: int, width: int, *, cells: int = 3, octaves: int = 4,
                  persistence: float = 0.55) -> Array:
    """Value noise in [0, 1], H×W float32: random grids upsampled bicubically and summed."""
    out = np.zeros((height, width), np.float32)
    amplitude = 1.0
    for octave in range(octaves):
        n = cells * 2 ** octave
        grid = rng.random((max(2, round(n * height / max(height, width))) + 1,
                           max(2, round(n * width / max(height, width))) + 1), dtype=np.float32)
        out += amplitude * cv2.resize(grid, (width, height), interpolation=cv2.INTER_CUBIC)
        amplitude *= persistence
    out -= out.min()
    return out / max(float(out.max()), 1e-6)


def _coverage(sdf: Array, softness: float = 1.0) -> Array:
    """Area coverage of a shape from its signed distance in pixels (negative inside)."""
    return np.clip(0.5 - sdf / softness, 0.0, 1.0)


def _ellipse_sdf(x: Array, y: Array, cx: float, cy: float, rx: float, ry: float, angle: float = 0.0) -> Array:
    cx, cy, rx, ry = float(cx), float(cy), float(rx), float(ry)  # numpy scalars would promote to float64
    c, s = math.cos(angle), math.sin(angle)
    u, v = (x - cx) * c + (y - cy) * s, -(x - cx) * s + (y - cy) * c
    return (np.sqrt((u / rx) ** 2 + (v / ry) ** 2) - 1.0) * min(rx, ry)


def _capsule_sdf(x: Array, y: Array, a: Point, b: Point, r: float) -> Array:
    ax, ay, dx, dy = float(a[0]), float(a[1]), float(b[0] - a[0]), float(b[1] - a[1])
    h = np.clip(((x - ax) * dx + (y - ay) * dy) * (1.0 / max(dx * dx + dy * dy, 1e-6)), 0.0, 1.0)
    return np.hypot(x - ax - h * dx, y - ay - h * dy) - r


def _capsule(a: Point, b: Point, r: float) -> Sdf:
    """The capsule around segment a-b as a shape's ``sdf`` (points bound now, not when it is painted)."""
    return lambda x, y, _: _capsule_sdf(x, y, a, b, r)


def _ellipse(cx: float, cy: float, rx: float, ry: float, angle: float) -> Sdf:
    """An ellipse as a shape's ``sdf`` (centre bound now, not when it is painted)."""
    return lambda x, y, _: _ellipse_sdf(x, y, cx, cy, rx, ry, angle)


def _outline(sdf: Sdf, half_width: float) -> Sdf:
    """A band ``half_width`` either side of ``sdf``'s edge."""
    return lambda x, y, box: np.abs(sdf(x, y, box)) - half_width


def _polylines(polylines: list[Array]) -> Callable[[Array, int], object]:
    """Draws open anti-aliased fixed-point ``polylines`` (already at the 2x scale) on a canvas."""
    return lambda canvas, _: cv2.polylines(canvas, polylines, False, 255, 1, cv2.LINE_AA, _SHIFT)


def _supersampled_mask(height: int, width: int, draw: Callable[[Array, int], object]) -> Array:
    """Coverage in [0, 1] of what ``draw(canvas, scale)`` paints (255) on a 2x canvas, area-downsampled."""
    canvas = np.zeros((2 * height, 2 * width), np.uint8)
    draw(canvas, 2)
    return cv2.resize(canvas, (width, height), interpolation=cv2.INTER_AREA).astype(np.float32) / 255.0


def _fixed(points: Array, scale: int) -> Array:
    return np.round(points * scale * _ONE).astype(np.int32)


Bounds = tuple[float, float, float, float]  # x0, y0, x1, y1 in pixels


class _Layers:
    """Premultiplied back-to-front compositing of colour layers.

    Shapes are evaluated only inside their bounding box: most parts of a figure are small.
    """

    def __init__(self, x: Array, y: Array) -> None:
        self.x, self.y = x, y
        self.color = np.zeros((*x.shape, 3), np.float32)
        self.alpha = np.zeros(x.shape, np.float32)

    def _over(self, box: tuple[slice, slice], color: Array | tuple[float, float, float], a: Array) -> None:
        color = np.asarray(color, np.float32)
        paint = color[box] if color.ndim == 3 else color
        keep = 1.0 - a
        self.color[box] = self.color[box] * keep[..., None] + paint * a[..., None]
        self.alpha[box] = self.alpha[box] * keep + a

    def shape(self, color: Array | tuple[float, float, float], sdf: Sdf, bounds: Bounds, softness: float = 1.2) -> None:
        """Paint a shape given by its signed distance ``sdf(x, y, box)``, which is zero outside ``bounds``."""
        height, width = self.x.shape
        x0, y0 = max(int(bounds[0]) - 2, 0), max(int(bounds[1]) - 2, 0)
        x1, y1 = min(int(math.ceil(bounds[2])) + 3, width), min(int(math.ceil(bounds[3])) + 3, height)
        if x1 <= x0 or y1 <= y0:
            return
        box = np.s_[y0:y1, x0:x1]
        self._over(box, color, _coverage(sdf(self.x[box], self.y[box], box), softness))

    def over(self, color: Array | tuple[float, float, float], alpha: Array) -> None:
        """Paint a full-frame coverage map (strands, drawn polygons)."""
        x, y, w, h = cv2.boundingRect((alpha > 0).astype(np.uint8))
        if w:
            box = np.s_[y:y + h, x:x + w]
            self._over(box, color, alpha[box])

    def foreground(self, fill: Array) -> tuple[Array, Array]:
        """Straight (un-premultiplied) colour, blending to ``fill`` where alpha fades out."""
        a = self.alpha[..., None]
        straight = self.color / np.maximum(a, 1e-4)
        weight = np.clip(a / 0.02, 0.0, 1.0)
        return straight * weight + fill * (1.0 - weight), self.alpha


def _around(cx: float, cy: float, r: float) -> Bounds:
    return cx - r, cy - r, cx + r, cy + r


def _segment_bounds(a: Array, b: Array, r: float) -> Bounds:
    return min(a[0], b[0]) - r, min(a[1], b[1]) - r, max(a[0], b[0]) + r, max(a[1], b[1]) + r


SKINS = np.array([[0.98, 0.86, 0.77], [0.94, 0.78, 0.66], [0.87, 0.68, 0.53], [0.78, 0.57, 0.42],
                  [0.66, 0.46, 0.32], [0.55, 0.37, 0.26], [0.42, 0.28, 0.19], [0.30, 0.20, 0.14]], np.float32)
HAIRS = np.array([[0.06, 0.05, 0.04], [0.20, 0.13, 0.08], [0.35, 0.21, 0.11], [0.60, 0.45, 0.25],
                  [0.85, 0.72, 0.45], [0.55, 0.20, 0.08], [0.62, 0.62, 0.62], [0.90, 0.90, 0.88]], np.float32)
HAIR_STYLES = ("long", "short", "bun", "curly", "buzz")
POSES = ("wave", "down", "hips", "raised", "point")


@dataclass(frozen=True)
class FigureStyle:
    """Per-person look, build, pose and motion, all drawn from one generator."""

    skin: Array
    hair: Array
    cloth: Array
    cloth2: Array
    jacket: Array | None  # an open jacket over the top, or None
    scarf: Array
    scarf_opacity: float
    pattern: int  # 0 stripes, 1 checks, 2 dots, 3 plain
    pattern_angle: float
    pattern_freq: float
    hair_style: str  # one of HAIR_STYLES
    hair_length: float  # in head radii
    strands: int
    pose: str  # one of POSES
    width: float  # half shoulder width, in units of the figure's size
    taper: float  # how the torso widens (+) or narrows (-) below the shoulders
    head: float  # head radius, in units of the figure's size
    neck: float  # neck length, in units of the figure's size
    short_sleeves: bool
    glasses: bool
    hat: Array | None  # a cap's colour, or None
    phases: Array  # motion phases
    speeds: Array  # motion rates (cycles per clip)
    drift: float  # horizontal travel, fraction of width
    wave_arm: int  # which arm waves or points, and the scarf's side (0 left, 1 right)

    @staticmethod
    def draw(rng: np.random.Generator) -> FigureStyle:
        hair_style = HAIR_STYLES[int(rng.choice(len(HAIR_STYLES), p=[0.35, 0.25, 0.15, 0.15, 0.10]))]
        grey = rng.random() < 0.15
        return FigureStyle(
            skin=SKINS[rng.integers(len(SKINS))] * np.float32(rng.uniform(0.94, 1.04)),
            hair=HAIRS[rng.integers(6, 8) if grey else rng.integers(6)] * np.float32(rng.uniform(0.85, 1.15)),
            cloth=rng.uniform(0.08, 0.92, 3).astype(np.float32),
            cloth2=rng.uniform(0.08, 0.92, 3).astype(np.float32),
            jacket=rng.uniform(0.05, 0.7, 3).astype(np.float32) if rng.random() < 0.35 else None,
            scarf=rng.uniform(0.3, 1.0, 3).astype(np.float32),
            scarf_opacity=float(rng.uniform(0.35, 0.5)),
            pattern=int(rng.integers(4)),
            pattern_angle=float(rng.uniform(0, np.pi)),
            pattern_freq=float(rng.uniform(0.15, 0.4)),
            hair_style=hair_style,
            hair_length=float(rng.uniform(1.2, 3.0) if hair_style == "long" else rng.uniform(0.9, 1.4)),
            strands=int(rng.integers(140, 220) if hair_style in ("long", "curly") else rng.integers(60, 120)),
            pose=POSES[int(rng.integers(len(POSES)))],
            width=float(rng.uniform(0.19, 0.29)),
            taper=float(rng.uniform(-0.06, 0.16)),
            head=float(rng.uniform(0.1, 0.13)),
            neck=float(rng.uniform(0.04, 0.08)),
            short_sleeves=bool(rng.random() < 0.4),
            glasses=bool(rng.random() < 0.3),
            hat=rng.uniform(0.05, 0.95, 3).astype(np.float32) if rng.random() < 0.2 else None,
            phases=rng.uniform(0, 2 * np.pi, 8),
            speeds=rng.uniform(0.6, 1.6, 8),
            drift=float(rng.uniform(0.05, 0.2)),
            wave_arm=int(rng.integers(2)),
        )


class _Person:
    """One half-body person: style, textures that move with the body, hair strands, and where it stands."""

    def __init__(self, rng: np.random.Generator, height: int, width: int, frames: int, scale: float,
                 offset: float) -> None:
        self.height, self.width, self.frames = height, width, frames
        self.style = s = FigureStyle.draw(rng)
        self.unit = u = float(min(height, 1.1 * width)) * scale
        self.offset = offset * width  # horizontal place of the body's centre, from the frame's centre
        tex = np.stack([fractal_noise(rng, 2 * height, 2 * width, cells=6, octaves=3) for _ in range(3)], -1)
        ly, lx = np.mgrid[0:2 * height, 0:2 * width].astype(np.float32)
        lx, ly = (lx - width) * (100 / u), (ly - height) * (100 / u)
        along = lx * math.cos(s.pattern_angle) + ly * math.sin(s.pattern_angle)
        across = -lx * math.sin(s.pattern_angle) + ly * math.cos(s.pattern_angle)
        f = s.pattern_freq
        if s.pattern == 0:
            mix = 0.5 + 0.5 * np.sin(along * (2 * f))
        elif s.pattern == 1:
            mix = 0.25 * (2 + np.sign(np.sin(along * f)) + np.sign(np.sin(across * f)))
        elif s.pattern == 2:
            mix = (np.hypot(np.sin(along * f), np.sin(across * f)) < 0.5).astype(np.float32)
        else:
            mix = 0.15 * tex[..., 1]
        light = (0.85 + 0.25 * np.clip(lx / 100 + 0.3, -1, 1))[..., None]
        folds = (0.82 + 0.18 * np.sin(lx * 0.35 + 3 * tex[..., 0]))[..., None]
        shade = (0.75 + 0.35 * tex) * folds * light
        self.cloth = (s.cloth + (s.cloth2 - s.cloth) * mix[..., None]) * shade
        self.jacket = None if s.jacket is None else s.jacket * shade
        self.skin = s.skin * (0.9 + 0.15 * tex[..., 1:2]) * light
        self.hair = s.hair * (0.75 + 0.5 * tex[..., 2:3])
        self.rough = tex[..., 2] - 0.5
        self.scarf = s.scarf * (0.8 + 0.2 * np.sin(along * 1.3))[..., None]
        count = s.strands
        # strand roots around the scalp (angle from straight up), lengths and curl, in head radii
        self.root_angle = rng.uniform(-1.9, 1.9, count)
        long_sides = s.hair_length if s.hair_style in ("long", "curly") else 0.45
        top = {"long": 0.9, "curly": 0.8, "short": 0.45, "bun": 0.3, "buzz": 0.18}[s.hair_style]
        self.strand_length = rng.uniform(0.25, 1.0, count) * np.where(np.abs(self.root_angle) > 1.0, long_sides, top)
        self.strand_curl = rng.normal(0.0, 0.9 if s.hair_style == "curly" else 0.35, count)
        self.strand_phase = rng.uniform(0, 2 * np.pi, count)
        self.strand_group = rng.integers(0, 3, count)

    def _wave(self, k: int, t: int, amplitude: float) -> float:
        s = self.style
        return amplitude * float(np.sin(2 * np.pi * s.speeds[k] * t / max(self.frames, 1) + s.phases[k]))

    def _strands(self, head: Array, radius: float, tilt: float, t: int) -> list[Array]:
        """Anti-aliased coverage of three groups of strands (each group gets its own opacity)."""
        theta = self.root_angle + tilt
        direction = np.stack([np.sin(theta), -np.cos(theta)], -1)
        hangs = np.abs(self.root_angle) > 1.0
        # side hair falls down, top hair sticks out and curls; both sway with the motion
        gravity = np.where(hangs, 1.0, 0.25)[:, None] * np.array([0.0, 1.0])
        sway = 0.35 * np.sin(2 * np.pi * t / max(self.frames, 1) * 1.5 + self.strand_phase)
        steps = np.linspace(0.0, 1.0, 8)[None, :, None]
        length = (self.strand_length * radius)[:, None, None]
        root = head + 0.92 * radius * direction
        bend = np.array([math.cos(tilt), math.sin(tilt)])[None, None, :] * (self.strand_curl + sway)[:, None, None]
        tangent = direction[:, None, :] * (1 - steps) + gravity[:, None, :] * steps
        points = root[:, None, :] + length * (steps * tangent + steps ** 2 * bend * 0.6)
        groups = []
        for g in range(3):
            polylines = list(_fixed(points[self.strand_group == g], 2))
            groups.append(_supersampled_mask(self.height, self.width, _polylines(polylines)))
        return groups

    def _arm_angles(self, arm: int, t: int) -> tuple[float, float]:
        """Upper-arm and forearm directions (0 = straight down, growing outwards) for the pose."""
        s, w = self.style, self._wave
        lead = arm == s.wave_arm
        if s.pose == "wave" and lead:
            upper = 1.45 + w(3, t, 0.9)
            return upper, upper + 0.6 + w(6, t, 0.5)
        if s.pose == "hips":
            upper = 0.65 + w(4 + arm, t, 0.08)
            return upper, upper - 2.3
        if s.pose == "raised":
            upper = 2.55 + w(3 + arm, t, 0.2)
            return upper, upper + 0.25 + w(6, t, 0.2)
        if s.pose == "point" and lead:
            upper = 1.45 + w(3, t, 0.15)
            return upper, upper + 0.05
        upper = 0.25 + w(4 + arm, t, 0.25)
        return upper, upper + 0.2

    def paint(self, layers: _Layers, t: int) -> None:
        """Paint this person's frame ``t`` into ``layers`` (back to front)."""
        s, u, height = self.style, self.unit, self.height
        cx = self.width / 2 + self.offset + self._wave(0, t, s.drift * self.width)
        base = height - 0.47 * u + self._wave(1, t, 0.012 * u)  # shoulder line
        tilt = self._wave(2, t, 0.18)
        radius = s.head * u
        neck_len = s.neck + 0.5 * radius / u
        neck = np.array([cx, base - 0.06 * u])
        hx, hy = cx + math.sin(tilt) * (neck_len + 0.06) * u, base - 0.06 * u - math.cos(tilt) * (neck_len + 0.06) * u
        up = (math.sin(tilt), -math.cos(tilt))  # the head's "up" direction
        side = (-up[1], up[0])
        r0 = int(np.clip(round(height - base), 0, height))
        c0 = int(np.clip(round(self.width - cx), 0, self.width))
        window = np.s_[r0:r0 + height, c0:c0 + self.width]
        cloth, skin, hair, rough, scarf = (f[window]
                                           for f in (self.cloth, self.skin, self.hair, self.rough, self.scarf))
        jacket = None if self.jacket is None else self.jacket[window]
        long_hair = s.hair_style in ("long", "curly")

        # back hair mass behind the shoulders, its edge roughened by noise
        if long_hair:
            by, bry = hy + 0.35 * radius * s.hair_length, (1.0 + 0.45 * s.hair_length) * radius
            bumps = 6.0 if s.hair_style == "curly" else 3.0
            layers.shape(hair, lambda x, y, b: _ellipse_sdf(x, y, hx, by, 1.15 * radius, bry, tilt * 0.5)
                         + bumps * rough[b], _around(hx, by, bry + 2), softness=1.5)

        # torso: trapezoid with rounded shoulders; an open jacket shows the top in a band down the middle
        half = s.width * u
        def torso(x: Array, y: Array, _: object) -> Array:
            trapezoid = np.maximum(np.abs(x - cx) - (half + (y - base) * s.taper), base - y)
            rounded: Array = np.minimum(trapezoid, _capsule_sdf(x, y, (cx - half + 0.05 * u, base + 0.04 * u),
                                                                (cx + half - 0.05 * u, base + 0.04 * u), 0.07 * u))
            return rounded
        torso_box = (cx - half - 0.15 * u, base - 0.05 * u, cx + half + 0.15 * u, height)
        layers.shape(cloth if jacket is None else jacket, torso, torso_box)
        if jacket is not None:
            opening = 0.25 * half
            layers.shape(cloth, lambda x, y, b: np.maximum(torso(x, y, b), np.abs(x - cx) - opening
                                                           - (y - base) * 0.08), torso_box)

        # arms: shoulder -> elbow -> hand
        sleeve = cloth * 0.92 if jacket is None else jacket * 0.92
        for arm, sign in ((0, -1.0), (1, 1.0)):
            upper, fore = (sign * a for a in self._arm_angles(arm, t))
            shoulder = np.array([cx + sign * (half - 0.02 * u), base + 0.05 * u])
            elbow = shoulder + 0.22 * u * np.array([math.sin(upper), math.cos(upper)])
            hand = elbow + 0.2 * u * np.array([math.sin(fore), math.cos(fore)])
            cuff = shoulder + 0.45 * (elbow - shoulder)
            layers.shape(skin if s.short_sleeves else sleeve, _capsule(shoulder, elbow, 0.05 * u),
                         _segment_bounds(shoulder, elbow, 0.05 * u))
            if s.short_sleeves:
                layers.shape(sleeve, _capsule(shoulder, cuff, 0.056 * u), _segment_bounds(shoulder, cuff, 0.056 * u))
            layers.shape(skin if s.short_sleeves else sleeve, _capsule(elbow, hand, 0.042 * u),
                         _segment_bounds(elbow, hand, 0.042 * u))
            layers.shape(skin, _ellipse(hand[0], hand[1], 0.045 * u, 0.055 * u, fore),
                         _around(hand[0], hand[1], 0.06 * u))

        neck_top, neck_bottom = neck - [0, neck_len * u - 0.03 * u], neck + [0, 0.05 * u]
        layers.shape(skin * 0.85, lambda x, y, _: _capsule_sdf(x, y, neck_bottom, neck_top, 0.05 * u),
                     _segment_bounds(neck_bottom, neck_top, 0.05 * u))
        if s.hair_style == "bun":
            bx, bry = hx + 0.95 * radius * up[0], hy + 0.95 * radius * up[1]
            layers.shape(hair, lambda x, y, b: _ellipse_sdf(x, y, bx, bry, 0.5 * radius, 0.42 * radius, tilt)
                         + 1.5 * rough[b], _around(bx, bry, 0.55 * radius), softness=1.5)
        layers.shape(skin, lambda x, y, _: _ellipse_sdf(x, y, hx, hy, 0.86 * radius, radius, tilt),
                     _around(hx, hy, radius))
        for offset in (-0.35, 0.35):
            ex, ey = hx + radius * (offset * side[0] + 0.05 * up[0]), hy + radius * (offset * side[1] + 0.05 * up[1])
            layers.shape((0.1, 0.07, 0.06), _ellipse(ex, ey, 0.12 * radius, 0.07 * radius, tilt),
                         _around(ex, ey, 0.12 * radius), softness=1.0)
            if s.glasses:  # a thin dark frame around each eye
                layers.shape((0.05, 0.05, 0.06), _outline(_ellipse(ex, ey, 0.26 * radius, 0.19 * radius, tilt), 0.5),
                             _around(ex, ey, 0.3 * radius))
        mx, my = hx - 0.5 * radius * up[0], hy - 0.5 * radius * up[1]
        layers.shape(tuple(s.skin * (0.6, 0.4, 0.4)), lambda x, y, _: _ellipse_sdf(
            x, y, mx, my, 0.25 * radius, 0.06 * radius, tilt), _around(mx, my, 0.25 * radius), softness=1.0)

        line = {"buzz": 0.35, "short": 0.2}.get(s.hair_style, 0.15)
        def cap(x: Array, y: Array, b: tuple[slice, slice]) -> Array:
            hairline = line * radius - ((x - hx) * up[0] + (y - hy) * up[1])
            dome = _ellipse_sdf(x, y, hx, hy - 0.05 * radius, 0.95 * radius, 1.02 * radius, tilt)
            capped: Array = np.maximum(dome, hairline) + 2.0 * rough[b]
            return capped
        layers.shape(hair, cap, _around(hx, hy, 1.1 * radius), softness=1.5)
        for g, coverage in enumerate(self._strands(np.array([hx, hy]), radius, tilt, t)):
            layers.over(hair * (0.8 + 0.2 * g), coverage * (0.55 + 0.2 * g))
        if s.hat is not None:  # a cap: crown over the hair, a brim to one side
            crown = np.array([hx + 0.55 * radius * up[0], hy + 0.55 * radius * up[1]])
            layers.shape(s.hat, lambda x, y, _: np.maximum(_ellipse_sdf(x, y, crown[0], crown[1], 1.0 * radius,
                                                                        0.62 * radius, tilt),
                                                           0.05 * radius - ((x - hx) * up[0] + (y - hy) * up[1])),
                         _around(crown[0], crown[1], 1.05 * radius))
            brim_a = crown - 0.1 * radius * np.array(up)
            brim_b = brim_a + (1.0 - 2.0 * s.wave_arm) * 1.3 * radius * np.array(side)
            layers.shape(s.hat * 0.8, lambda x, y, _: _capsule_sdf(x, y, brim_a, brim_b, 0.1 * radius),
                         _segment_bounds(brim_a, brim_b, 0.1 * radius))

        # translucent scarf: a collar band and a tail that falls past the body on one side, fluttering
        flutter = self._wave(7, t, 0.08 * u)
        sign = 1.0 - 2.0 * s.wave_arm
        edge = cx + sign * half
        pts = np.array([[cx - sign * 0.15 * u, base - 0.04 * u], [cx + sign * 0.15 * u, base - 0.04 * u],
                        [edge + sign * 0.02 * u, base + 0.02 * u], [edge + sign * 0.2 * u + flutter, height + 2.0],
                        [edge + sign * 0.06 * u + 0.6 * flutter, height + 2.0],
                        [edge - sign * 0.06 * u, base + 0.1 * u], [cx, base + 0.06 * u],
                        [cx - sign * 0.15 * u, base + 0.03 * u]])
        veil = _supersampled_mask(height, self.width, lambda canvas, k: cv2.fillPoly(
            canvas, [_fixed(pts, k)], 255, cv2.LINE_AA, _SHIFT))
        layers.over(scarf, veil * s.scarf_opacity)


class FigurePainter:
    """Draws frame ``t`` of a clip of ``frames`` frames: ``people`` half-body people (build, pose, skin,
    hair style, clothes and accessories drawn per person) that walk, turn their heads and move their
    arms and hair, each with a translucent scarf. A second or third person stands smaller, to one side
    and behind, so the clip has several people and they overlap.

    Colour fields (cloth pattern, shading, skin, hair) are made once per person on a canvas twice the
    frame size centred on the figure, and each frame takes the window under the figure, so the
    textures move with the body instead of swimming.
    """

    def __init__(self, rng: np.random.Generator, height: int, width: int, frames: int, people: int = 1) -> None:
        if people < 1:
            raise ValueError(f"people must be >= 1, got {people}")
        self.height, self.width, self.frames = height, width, frames
        self.y, self.x = np.mgrid[0:height, 0:width].astype(np.float32)
        side = float(rng.choice([-1.0, 1.0]))
        # the main person first, then the others behind it, alternating sides; painted back to front
        places = [(1.0, float(rng.uniform(-0.08, 0.08)))]
        for k in range(1, people):
            places.append((float(rng.uniform(0.68, 0.88)), side * (-1) ** k * float(rng.uniform(0.22, 0.34))))
        self.people = [_Person(rng, height, width, frames, scale, offset) for scale, offset in places]
        self.style = self.people[0].style

    def paint(self, t: int) -> tuple[Array, Array]:
        """Straight RGB float32 H×W×3 in [0, 1] and alpha H×W in [0, 1] of frame ``t``."""
        layers = _Layers(self.x, self.y)
        for person in reversed(self.people):
            person.paint(layers, t)
        return layers.foreground(fill=self.people[0].style.hair)


@dataclass(frozen=True)
class _Layer:
    rgba: Array  # H×W×4 float32 colour premultiplied by alpha, + alpha; larger than the view
    parallax: float


class ScenePainter:
    """A wide procedural scene (landscape or skyline) seen through a camera that pans and zooms,
    with parallax between layers and objects moving across it."""

    def __init__(self, rng: np.random.Generator, height: int, width: int, frames: int, kind: str) -> None:
        self.height, self.width, self.frames = height, width, frames
        self.canvas = (int(height * 1.6), int(width * 2.0))
        self.layers = self._landscape(rng) if kind == "landscape" else self._skyline(rng)
        self.pan = rng.uniform(0.25, 0.5) * rng.choice([-1.0, 1.0])
        self.zoom = (rng.uniform(1.0, 1.15), rng.uniform(1.15, 1.4))
        self.objects = rng.uniform(0, 1, (int(rng.integers(3, 7)), 6))
        self.object_color = rng.uniform(0.05, 0.95, (len(self.objects), 3))

    def _sky(self, rng: np.random.Generator) -> Array:
        h, w = self.canvas
        top, horizon = rng.uniform(0.2, 0.6, 3).astype(np.float32), rng.uniform(0.6, 1.0, 3).astype(np.float32)
        ramp = np.linspace(0, 1, h, dtype=np.float32)[:, None, None]
        sky = np.broadcast_to(top * (1 - ramp) + horizon * ramp, (h, w, 3)).astype(np.float32)
        clouds = np.clip(fractal_noise(rng, h, w, cells=4) * 1.8 - 0.8, 0, 1)[..., None]
        return np.concatenate([sky * (1 - clouds) + clouds * 0.97, np.ones((h, w, 1), np.float32)], -1)

    def _ridge(self, rng: np.random.Generator, level: float, roughness: float, color: Array, parallax: float) -> _Layer:
        h, w = self.canvas
        profile = cv2.resize(rng.random((1, 12), dtype=np.float32), (w, 1), interpolation=cv2.INTER_CUBIC)[0]
        profile += 0.3 * cv2.resize(rng.random((1, 48), dtype=np.float32), (w, 1), interpolation=cv2.INTER_CUBIC)[0]
        edge = h * (level - roughness * (profile - profile.mean()))
        rows = np.arange(h, dtype=np.float32)[:, None]
        alpha = np.clip(rows - edge[None, :] + 0.5, 0, 1)
        shade = (0.7 + 0.5 * fractal_noise(rng, h, w, cells=8, octaves=4))[..., None]
        depth = np.clip((rows - edge[None, :]) / (0.4 * h), 0, 1)[..., None]
        return _Layer(np.concatenate([color * shade * (1 - 0.35 * depth) * alpha[..., None], alpha[..., None]], -1),
                      parallax)

    def _landscape(self, rng: np.random.Generator) -> list[_Layer]:
        far = (rng.uniform(0.3, 0.6, 3) * [0.8, 0.85, 1.0]).astype(np.float32)
        near = (rng.uniform(0.15, 0.5, 3) * [0.7, 1.0, 0.6]).astype(np.float32)
        return [_Layer(self._sky(rng), 0.2), self._ridge(rng, 0.55, 0.25, far, 0.5),
                self._ridge(rng, 0.72, 0.15, near, 1.0)]

    def _skyline(self, rng: np.random.Generator) -> list[_Layer]:
        h, w = self.canvas
        layers = [_Layer(self._sky(rng), 0.2)]
        rows, cols = np.arange(h)[:, None], np.arange(w)[None, :]
        for level, parallax in ((0.45, 0.6), (0.3, 1.0)):
            widths = rng.integers(w // 30, w // 10, 64)
            gaps = rng.integers(0, w // 60 + 1, 64)
            starts = np.concatenate([[0], np.cumsum(widths + gaps)[:-1]])
            keep = starts < w
            starts, ends = starts[keep], (starts + widths)[keep]
            tops = (h * (1 - rng.uniform(level, level + 0.4, len(starts)))).astype(int)
            # building index of every column (-1 in the gaps), then per-pixel colour by lookup
            column = np.full(w, -1)
            for i, (x0, x1) in enumerate(zip(starts, ends, strict=True)):
                column[x0:x1] = i
            inside = (column[None, :] >= 0) & (rows >= tops[column][None, :])
            wall = rng.uniform(0.15, 0.6, (len(starts), 3)).astype(np.float32)
            lights = rng.uniform(0.5, 1.0, (len(starts), 3)).astype(np.float32)
            lit = rng.random((h // 10 + 1, w // 8 + 1)) < 0.55
            window = (inside & (rows % 10 < 4) & (cols % 8 >= 4) & (cols % 8 < 7) & lit[rows // 10, cols // 8]
                      & (rows >= tops[column][None, :] + 6) & (rows < h - 6))
            rgba = np.zeros((h, w, 4), np.float32)
            rgba[..., :3] = np.where(window[..., None], lights[column][None], wall[column][None])
            rgba[..., :3] *= ((0.75 + 0.4 * fractal_noise(rng, h, w, cells=10, octaves=3)) * inside)[..., None]
            rgba[..., 3] = inside
            layers.append(_Layer(rgba, parallax))
        return layers

    def paint(self, t: int) -> Array:
        """RGB float32 H×W×3 in [0, 1] of frame ``t``."""
        h, w = self.canvas
        p = t / max(self.frames - 1, 1)
        ease = 0.5 - 0.5 * np.cos(np.pi * p)
        zoom = self.zoom[0] + (self.zoom[1] - self.zoom[0]) * ease
        scale = zoom * self.height / h * 1.4
        out: Array | None = None
        for layer in self.layers:
            shift = self.pan * layer.parallax * (w - self.width / scale) * 0.5 * (p - 0.5)
            cx, cy = w / 2 + shift, h * 0.62
            m = np.array([[scale, 0, self.width / 2 - scale * cx], [0, scale, self.height / 2 - scale * cy]],
                         np.float32)
            rgba = cv2.warpAffine(layer.rgba, m, (self.width, self.height), flags=cv2.INTER_LINEAR,
                                  borderMode=cv2.BORDER_REFLECT)
            if out is None:  # the sky: opaque
                out = np.ascontiguousarray(rgba[..., :3])
            else:
                out *= 1.0 - rgba[..., 3:]
                out += rgba[..., :3]
        # moving objects: drawn together at 2x (colour premultiplied by coverage), then area-downsampled
        premultiplied = np.zeros((2 * self.height, 2 * self.width, 3), np.uint8)
        coverage = np.zeros((2 * self.height, 2 * self.width), np.uint8)
        for (x0, y0, vx, vy, size, _), color in zip(self.objects, self.object_color, strict=True):
            cx = ((x0 + (vx - 0.5) * 1.5 * p) % 1.2 - 0.1) * self.width
            cy = (0.15 + 0.7 * y0 + 0.1 * (vy - 0.5) * np.sin(2 * np.pi * p * 2)) * self.height
            r = (0.02 + 0.05 * size) * self.height
            args = ((int(cx * 2 * _ONE), int(cy * 2 * _ONE)), (int(r * 3.2 * _ONE), int(r * 2 * _ONE)),
                    float(np.degrees(np.arctan2(vy - 0.5, vx - 0.5))), 0, 360)
            cv2.ellipse(premultiplied, *args, tuple(float(c) * 255 for c in color), -1, cv2.LINE_AA, _SHIFT)
            cv2.ellipse(coverage, *args, 255, -1, cv2.LINE_AA, _SHIFT)
        size = (self.width, self.height)
        paint = cv2.resize(premultiplied, size, interpolation=cv2.INTER_AREA).astype(np.float32) / 255.0
        alpha = cv2.resize(coverage, size, interpolation=cv2.INTER_AREA).astype(np.float32)[..., None] / 255.0
        assert out is not None  # the first layer is the sky, and there is always one
        composed: Array = out * (1 - alpha) + paint
        return composed


def to_uint8(image: Array) -> Array:
    return np.clip(image * 255.0 + 0.5, 0, 255).astype(np.uint8)

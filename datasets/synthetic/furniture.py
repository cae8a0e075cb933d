"""Furniture generators: chair, table, sofa, bench, bed, bookshelf.

Each takes the object's random generator and returns an ``Assembly`` in metres, y up, front
towards -z (ShapeNetCore v2 alignment). Styles are drawn first, then proportions, so objects of
one class differ in structure (legs vs pedestal, arms or not) and not only in size.
"""

from __future__ import annotations

import numpy as np

from clip2point.datasets.synthetic.assembly import Assembly, choice
from clip2point.datasets.synthetic.geometry import lathe, tube
from clip2point.datasets.synthetic.materials import Material, Texture, jitter, solid, texture_seed, textured
from clip2point.datasets.synthetic.primitives import ball, box, rod

WOODS = ((0.55, 0.35, 0.18), (0.72, 0.52, 0.3), (0.36, 0.22, 0.12), (0.82, 0.68, 0.48))
FABRICS = (
    (0.25, 0.32, 0.55),
    (0.55, 0.2, 0.18),
    (0.45, 0.45, 0.45),
    (0.7, 0.62, 0.48),
    (0.2, 0.42, 0.3),
    (0.12, 0.12, 0.12),
)
METALS = ((0.15, 0.15, 0.16), (0.62, 0.63, 0.66), (0.75, 0.6, 0.3))


def wood(rng: np.random.Generator, name: str = "wood") -> Material:
    """Wood: half the time a grain texture, otherwise a flat colour."""
    base = jitter(rng, choice(rng, WOODS))
    if rng.uniform() < 0.5:
        dark = tuple(c * 0.65 for c in base)
        return textured(name, Texture("wood", base, dark, seed=texture_seed(rng)))
    return solid(name, base)


def fabric(rng: np.random.Generator, name: str = "fabric") -> Material:
    """Upholstery: a woven or checked texture or a flat colour."""
    base = jitter(rng, choice(rng, FABRICS))
    pick = rng.uniform()
    if pick < 0.3:
        accent = tuple(min(1.0, c * 1.35 + 0.05) for c in base)
        return textured(name, Texture("fabric", base, accent, seed=texture_seed(rng)))
    if pick < 0.4:
        return textured(name, Texture("checker", base, (0.9, 0.88, 0.82), seed=texture_seed(rng)))
    return solid(name, base)


def shade_of(rng: np.random.Generator, material: Material, name: str) -> Material:
    """A second, plain material close to ``material`` (a seat panel in the frame's wood),
    so single-colour-looking objects still have the several material groups ShapeNet's have."""
    base = material.texture.base if material.texture is not None else material.kd
    return solid(name, jitter(rng, tuple(c * 0.85 for c in base), 0.04))


def _legs(a: Assembly, mat: Material, xs: float, zs: float, top: float, size: float, square: bool) -> None:
    """Four legs at (±xs, ±zs) from the floor up to ``top``."""
    for x in (-xs, xs):
        for z in (-zs, zs):
            if square:
                a.add(box((size, top, size), (x, top / 2, z)), mat)
            else:
                a.add(rod((x, 0, z), (x, top, z), size / 2, sections=10), mat)


def _pedestal(a: Assembly, mat: Material, top: float, spread: float, spokes: int, casters: bool) -> None:
    """A central column on a star base (office chairs, round tables)."""
    a.add(rod((0, 0.06, 0), (0, top, 0), 0.03), mat)
    for k in range(spokes):
        ang = 2 * np.pi * k / spokes + np.pi / spokes
        end = (spread * np.sin(ang), 0.05, -spread * np.cos(ang))
        a.add(rod((0, 0.07, 0), end, 0.02, sections=8), mat)
        if casters:
            a.add(ball(0.03, (end[0], 0.03, end[2]), subdivisions=1), solid("caster", (0.1, 0.1, 0.1)))


def chair(rng: np.random.Generator) -> Assembly:
    style = choice(rng, ("four_legs", "office", "slatted", "armchair", "stool_back"))
    a = Assembly()
    w, d = rng.uniform(0.42, 0.56), rng.uniform(0.4, 0.52)
    seat_h, t = rng.uniform(0.42, 0.5), rng.uniform(0.03, 0.08)
    back_h = rng.uniform(0.35, 0.6)
    frame = wood(rng, "frame") if style != "office" else solid("frame", jitter(rng, choice(rng, METALS)))
    seat = fabric(rng, "seat") if rng.uniform() < 0.6 else shade_of(rng, frame, "seat")
    a.add(box((w, t, d), (0, seat_h - t / 2, 0)), seat)
    if style == "office":
        _pedestal(a, frame, seat_h - t, rng.uniform(0.28, 0.34), 5, casters=True)
        a.add(box((w * 0.92, back_h, 0.06), (0, seat_h + back_h / 2 + 0.05, d / 2 - 0.03)), seat)
        a.add(box((0.05, 0.1, 0.04), (0, seat_h + 0.03, d / 2 - 0.03)), frame)
    else:
        leg = rng.uniform(0.03, 0.05)
        _legs(a, frame, w / 2 - leg, d / 2 - leg, seat_h - t, leg, square=rng.uniform() < 0.5)
        if style == "slatted":
            for x in (-(w / 2 - leg), w / 2 - leg):
                a.add(box((leg, back_h, leg), (x, seat_h + back_h / 2, d / 2 - leg)), frame)
            a.add(box((w, 0.07, leg), (0, seat_h + back_h - 0.035, d / 2 - leg)), frame)
            slats = int(rng.integers(3, 6))
            for x in np.linspace(-w / 2 + 0.1, w / 2 - 0.1, slats):
                a.add(box((0.025, back_h - 0.07, 0.015), (x, seat_h + (back_h - 0.07) / 2, d / 2 - leg)), frame)
        elif style == "stool_back":
            a.add(box((w, back_h * 0.35, 0.03), (0, seat_h + back_h * 0.75, d / 2 - 0.02)), frame)
            for x in (-(w / 2 - 0.02), w / 2 - 0.02):
                a.add(box((0.03, back_h, 0.03), (x, seat_h + back_h / 2, d / 2 - 0.02)), frame)
        else:
            a.add(box((w, back_h, 0.05), (0, seat_h + back_h / 2, d / 2 - 0.025)), seat)
    if style == "armchair" or (style == "office" and rng.uniform() < 0.6):
        arm_y = seat_h + rng.uniform(0.18, 0.25)
        for x in (-(w / 2 + 0.03), w / 2 + 0.03):
            a.add(box((0.05, 0.04, d * 0.85), (x, arm_y, 0.02)), frame)
            a.add(rod((x, seat_h - t, -d * 0.3), (x, arm_y, -d * 0.3), 0.015, sections=8), frame)
    return a


def table(rng: np.random.Generator) -> Assembly:
    shape = choice(rng, ("rect", "rect", "round", "square"))
    support = choice(rng, ("legs", "legs", "pedestal", "trestle"))
    if shape == "round" and support == "trestle":
        support = "pedestal"
    a = Assembly()
    height = rng.uniform(0.68, 0.78) if rng.uniform() < 0.75 else rng.uniform(0.38, 0.5)
    t = rng.uniform(0.025, 0.06)
    top, frame = wood(rng, "top"), wood(rng, "frame")
    if rng.uniform() < 0.3:
        frame = solid("frame", jitter(rng, choice(rng, METALS)))
    if shape == "round":
        r = rng.uniform(0.4, 0.65)
        half_w = half_d = r * 0.62
        a.add(rod((0, height - t, 0), (0, height, 0), r, sections=32), top)
    else:
        length = rng.uniform(1.0, 1.9) if shape == "rect" else rng.uniform(0.7, 1.0)
        depth = rng.uniform(0.6, 0.95) if shape == "rect" else length
        half_w, half_d = length / 2 - 0.06, depth / 2 - 0.06
        a.add(box((length, t, depth), (0, height - t / 2, 0)), top)
    if support == "legs":
        leg = rng.uniform(0.04, 0.08)
        _legs(a, frame, half_w, half_d, height - t, leg, square=rng.uniform() < 0.6)
        if shape != "round" and rng.uniform() < 0.6:
            apron = 0.08
            for z in (-half_d, half_d):
                a.add(box((2 * half_w, apron, 0.02), (0, height - t - apron / 2, z)), frame)
            for x in (-half_w, half_w):
                a.add(box((0.02, apron, 2 * half_d), (x, height - t - apron / 2, 0)), frame)
    elif support == "pedestal":
        a.add(rod((0, 0.03, 0), (0, height - t, 0), rng.uniform(0.04, 0.09), sections=16), frame)
        base, _ = lathe([(0, 0), (rng.uniform(0.22, 0.32), 0), (0.1, 0.06), (0, 0.06)], sections=24)
        a.add(base, frame)
    else:
        for x in (-half_w * 0.85, half_w * 0.85):
            a.add(box((0.06, height - t, 2 * half_d * 0.9), (x, (height - t) / 2, 0)), frame)
        a.add(box((2 * half_w * 0.85, 0.06, 0.05), (0, 0.25, 0)), frame)
    return a


def sofa(rng: np.random.Generator) -> Assembly:
    a = Assembly()
    seats = int(rng.integers(1, 4)) + 1
    width = seats * rng.uniform(0.55, 0.7) + 0.3
    depth, seat_h = rng.uniform(0.8, 0.98), rng.uniform(0.38, 0.46)
    back_top = rng.uniform(0.75, 0.95)
    cover = fabric(rng, "cover")
    cushion = cover if rng.uniform() < 0.6 else fabric(rng, "cushion")
    legs = solid("legs", jitter(rng, choice(rng, WOODS + METALS)))
    leg_h = rng.uniform(0.05, 0.14)
    arms = choice(rng, ("box", "rolled", "none", "box"))
    arm_w = 0.14 if arms != "none" else 0.0
    inner = width - 2 * arm_w
    a.add(box((width, seat_h - 0.1 - leg_h, depth), (0, (seat_h - 0.1 + leg_h) / 2, 0)), cover)
    for x in np.linspace(-inner / 2 + inner / seats / 2, inner / 2 - inner / seats / 2, seats):
        a.add(box((inner / seats - 0.01, 0.1, depth - 0.2), (x, seat_h - 0.05, -0.08)), cushion)
    a.add(box((width, back_top - leg_h, 0.2), (0, (back_top + leg_h) / 2, depth / 2 - 0.1)), cover)
    if arms == "box":
        arm_h = rng.uniform(0.55, 0.68)
        for x in (-(width / 2 - arm_w / 2), width / 2 - arm_w / 2):
            a.add(box((arm_w, arm_h - leg_h, depth), (x, (arm_h + leg_h) / 2, 0)), cover)
    elif arms == "rolled":
        for x in (-(width / 2 - arm_w / 2), width / 2 - arm_w / 2):
            a.add(box((arm_w, seat_h - leg_h, depth), (x, (seat_h + leg_h) / 2, 0)), cover)
            a.add(rod((x, seat_h + 0.08, -depth / 2), (x, seat_h + 0.08, depth / 2), arm_w * 0.75, sections=16), cover)
    if rng.uniform() < 0.3:  # chaise: an L-shaped extension on one side
        side = choice(rng, (-1.0, 1.0))
        ext = rng.uniform(0.5, 0.8)
        x = side * (width / 2 - arm_w - 0.35)
        a.add(box((0.7, seat_h - leg_h, ext), (x, (seat_h + leg_h) / 2, -depth / 2 - ext / 2)), cover)
    _legs(a, legs, width / 2 - 0.06, depth / 2 - 0.06, leg_h, 0.05, square=rng.uniform() < 0.5)
    return a


def bench(rng: np.random.Generator) -> Assembly:
    style = choice(rng, ("park", "plank", "slab", "park"))
    a = Assembly()
    length, seat_h = rng.uniform(1.1, 2.0), rng.uniform(0.4, 0.48)
    depth = rng.uniform(0.35, 0.5)
    planks = wood(rng, "planks")
    frame = solid("frame", jitter(rng, choice(rng, METALS))) if style == "park" else wood(rng, "frame")
    if style == "park":
        slats = int(rng.integers(3, 6))
        for z in np.linspace(-depth / 2 + 0.04, depth / 2 - 0.04, slats):
            a.add(box((length, 0.03, depth / slats * 0.75), (0, seat_h, z)), planks)
        back_slats = int(rng.integers(2, 4))
        for k in range(back_slats):
            y = seat_h + 0.12 + k * 0.11
            a.add(box((length, 0.08, 0.025), (0, y, depth / 2 + 0.02 + k * 0.03)), planks)
        for x in (-length / 2 + 0.12, length / 2 - 0.12):
            path = [
                (x, 0, -depth / 2),
                (x, seat_h - 0.02, -depth / 2 + 0.03),
                (x, seat_h - 0.02, depth / 2),
                (x, seat_h + 0.12 + back_slats * 0.11, depth / 2 + 0.02 + back_slats * 0.03),
            ]
            a.add(tube(path, 0.025, sections=8), frame)
            a.add(rod((x, 0, depth / 2), (x, seat_h - 0.02, depth / 2), 0.025, sections=8), frame)
            if rng.uniform() < 0.6:
                a.add(box((0.05, 0.04, depth * 0.8), (x, seat_h + 0.2, -0.02)), frame)
    else:
        t = rng.uniform(0.04, 0.08)
        a.add(box((length, t, depth), (0, seat_h - t / 2, 0)), planks)
        if style == "slab":
            for x in (-length / 2 + 0.15, length / 2 - 0.15):
                a.add(box((t, seat_h - t, depth * 0.9), (x, (seat_h - t) / 2, 0)), frame)
        else:
            _legs(a, frame, length / 2 - 0.1, depth / 2 - 0.05, seat_h - t, 0.05, square=True)
            a.add(box((length - 0.2, 0.04, 0.04), (0, 0.15, 0)), frame)
    return a


def bed(rng: np.random.Generator) -> Assembly:
    a = Assembly()
    width, length = choice(rng, (0.95, 1.4, 1.6, 1.8)) + rng.uniform(-0.05, 0.05), rng.uniform(1.95, 2.15)
    frame = wood(rng, "frame")
    sheet = fabric(rng, "bedding")
    base_h, mat_h = rng.uniform(0.2, 0.35), rng.uniform(0.18, 0.28)
    a.add(box((width + 0.06, base_h - 0.05, length), (0, (base_h + 0.05) / 2, 0)), frame)
    _legs(a, frame, width / 2, length / 2 - 0.03, 0.05, 0.06, square=True)
    a.add(box((width, mat_h, length - 0.05), (0, base_h + mat_h / 2, -0.02)), solid("mattress", (0.93, 0.92, 0.88)))
    a.add(box((width + 0.02, 0.05, length * 0.62), (0, base_h + mat_h + 0.01, -length * 0.19)), sheet)
    head_h = rng.uniform(0.9, 1.3)
    a.add(box((width + 0.1, head_h, 0.07), (0, head_h / 2, length / 2 + 0.03)), frame)
    if rng.uniform() < 0.5:
        foot_h = rng.uniform(0.4, 0.6)
        a.add(box((width + 0.1, foot_h, 0.06), (0, foot_h / 2, -length / 2 - 0.03)), frame)
    pillows = 1 if width < 1.2 else 2
    for x in np.linspace(-width / 4, width / 4, pillows) if pillows > 1 else [0.0]:
        a.add(
            box((width / pillows * 0.8, 0.12, 0.4), (x, base_h + mat_h + 0.06, length / 2 - 0.3)),
            solid("pillow", (0.97, 0.97, 0.95)),
        )
    return a


def bookshelf(rng: np.random.Generator) -> Assembly:
    a = Assembly()
    width, height, depth = rng.uniform(0.6, 1.2), rng.uniform(0.9, 2.0), rng.uniform(0.25, 0.4)
    shelves = int(max(2, height // rng.uniform(0.3, 0.4)))
    t = 0.025
    frame = wood(rng, "frame")
    for x in (-width / 2 + t / 2, width / 2 - t / 2):
        a.add(box((t, height, depth), (x, height / 2, 0)), frame)
    if rng.uniform() < 0.7:
        a.add(box((width, height, 0.01), (0, height / 2, depth / 2 - 0.005)), frame)
    levels = np.linspace(0.04, height - t / 2, shelves + 1)
    for y in levels:
        a.add(box((width - 2 * t, t, depth), (0, y, 0)), frame)
    book_colors = [
        solid(f"books{k}", c)
        for k, c in enumerate(((0.6, 0.1, 0.1), (0.1, 0.25, 0.5), (0.85, 0.75, 0.3), (0.2, 0.45, 0.25)))
    ]
    gap = levels[1] - levels[0] - t
    for k, y in enumerate(levels[:-1]):
        if rng.uniform() < 0.25:
            continue
        x = -width / 2 + t + 0.01
        end = x + rng.uniform(0.4, 0.95) * (width - 2 * t)
        while x < end:
            bw, bh = rng.uniform(0.02, 0.05), gap * rng.uniform(0.6, 0.9)
            a.add(box((bw, bh, depth * 0.8), (x + bw / 2, y + t / 2 + bh / 2, -depth * 0.05)), choice(rng, book_colors))
            x += bw + 0.002
    return a

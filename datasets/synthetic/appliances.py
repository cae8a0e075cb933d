"""Box-built household generators: cabinet, file cabinet, microwave, washer, dishwasher, stove,
loudspeaker, printer, mailbox, bathtub, piano, birdhouse. Metres, y up, front towards -z."""

from __future__ import annotations

import numpy as np

from clip2point.datasets.synthetic.assembly import Assembly, choice
from clip2point.datasets.synthetic.furniture import wood
from clip2point.datasets.synthetic.geometry import extrude, lathe, place
from clip2point.datasets.synthetic.materials import Material, jitter, solid
from clip2point.datasets.synthetic.primitives import box, rod, translated

WHITE_GOODS = ((0.94, 0.94, 0.93), (0.75, 0.76, 0.78), (0.2, 0.2, 0.21))
DARK = (0.05, 0.06, 0.08)


def _front_disc(
    a: Assembly, radius: float, center: tuple[float, float, float], mat: Material, depth: float = 0.01
) -> None:
    """A flat round feature on a -z facing front (dials, port holes, speaker rims)."""
    x, y, z = center
    a.add(rod((x, y, z), (x, y, z - depth), radius, sections=20), mat)


def _handle(a: Assembly, x: float, y: float, z: float, length: float, mat: Material, *, vertical: bool = False) -> None:
    size = (0.015, length, 0.02) if vertical else (length, 0.015, 0.02)
    a.add(box(size, (x, y, z - 0.01)), mat)


def cabinet(rng: np.random.Generator) -> Assembly:
    a = Assembly()
    w, h, d = rng.uniform(0.6, 1.4), rng.uniform(0.6, 1.9), rng.uniform(0.35, 0.6)
    body = wood(rng, "body") if rng.uniform() < 0.7 else solid("body", jitter(rng, choice(rng, WHITE_GOODS)))
    metal = solid("handles", jitter(rng, (0.7, 0.7, 0.72)))
    legs = rng.uniform() < 0.5
    y0 = 0.1 if legs else 0.0
    a.add(box((w, h - y0, d), (0, y0 + (h - y0) / 2, 0)), body)
    doors = 2 if w > 0.8 else 1
    drawers = int(rng.integers(0, 3))
    door_top = h - drawers * 0.18
    front = -d / 2 - 0.005
    door_mat = solid(
        "doors", jitter(rng, tuple(c * 0.9 for c in (body.kd if body.texture is None else body.texture.base)))
    )
    for k in range(doors):
        x = -w / 2 + w / doors * (k + 0.5)
        a.add(box((w / doors - 0.02, door_top - y0 - 0.03, 0.01), (x, (y0 + door_top) / 2, front)), door_mat)
        _handle(
            a,
            x + (0.3 if k == 0 and doors == 2 else -0.3) * w / doors,
            (y0 + door_top) / 2,
            front - 0.005,
            0.12,
            metal,
            vertical=True,
        )
    for k in range(drawers):
        y = door_top + 0.09 + k * 0.18
        a.add(box((w - 0.02, 0.16, 0.01), (0, y, front)), door_mat)
        _handle(a, 0, y, front - 0.005, 0.15, metal)
    if legs:
        for x in (-w / 2 + 0.05, w / 2 - 0.05):
            for z in (-d / 2 + 0.05, d / 2 - 0.05):
                a.add(rod((x, 0, z), (x, y0, z), 0.02, sections=8), metal)
    return a


def file_cabinet(rng: np.random.Generator) -> Assembly:
    a = Assembly()
    drawers = int(rng.integers(2, 5))
    w, d = rng.uniform(0.38, 0.5), rng.uniform(0.5, 0.7)
    dh = rng.uniform(0.28, 0.34)
    h = drawers * dh + 0.04
    body = solid(
        "body", jitter(rng, choice(rng, ((0.6, 0.62, 0.64), (0.25, 0.27, 0.3), (0.85, 0.84, 0.8), (0.3, 0.4, 0.3))))
    )
    a.add(box((w, h, d), (0, h / 2, 0)), body)
    front, metal = solid("drawers", jitter(rng, tuple(c * 1.1 for c in body.kd), 0.03)), solid(
        "handles", (0.8, 0.8, 0.82)
    )
    for k in range(drawers):
        y = 0.02 + dh * (k + 0.5)
        a.add(box((w - 0.03, dh - 0.02, 0.01), (0, y, -d / 2 - 0.005)), front)
        _handle(a, 0, y + dh * 0.25, -d / 2 - 0.01, 0.12, metal)
        a.add(box((0.06, 0.03, 0.004), (0, y + dh * 0.38, -d / 2 - 0.011)), solid("labels", (0.95, 0.95, 0.9)))
    return a


def microwaves(rng: np.random.Generator) -> Assembly:
    a = Assembly()
    w, h, d = rng.uniform(0.45, 0.6), rng.uniform(0.26, 0.35), rng.uniform(0.33, 0.45)
    body = solid("body", jitter(rng, choice(rng, WHITE_GOODS)))
    a.add(box((w, h, d), (0, h / 2, 0)), body)
    panel = w * rng.uniform(0.22, 0.3)
    a.add(box((w - panel - 0.04, h - 0.05, 0.01), (-panel / 2 - 0.01, h / 2, -d / 2 - 0.005)), solid("window", DARK))
    a.add(
        box((panel - 0.02, h - 0.05, 0.01), (w / 2 - panel / 2 - 0.01, h / 2, -d / 2 - 0.005)),
        solid("panel", jitter(rng, (0.3, 0.3, 0.32))),
    )
    for k in range(2):
        _front_disc(
            a, 0.02, (w / 2 - panel / 2 - 0.01, h * (0.35 + 0.3 * k), -d / 2 - 0.01), solid("knobs", (0.85, 0.85, 0.85))
        )
    for sx in (-1, 1):
        for z in (-d / 2 + 0.04, d / 2 - 0.04):
            a.add(box((0.04, 0.01, 0.04), (sx * (w / 2 - 0.04), -0.005, z)), solid("feet", DARK))
    return a


def washer(rng: np.random.Generator) -> Assembly:
    a = Assembly()
    w, h, d = rng.uniform(0.58, 0.62), rng.uniform(0.82, 0.9), rng.uniform(0.55, 0.65)
    body = solid("body", jitter(rng, choice(rng, WHITE_GOODS[:2]), 0.03))
    a.add(box((w, h, d), (0, h / 2, 0)), body)
    front = -d / 2
    if rng.uniform() < 0.7:  # front loader: round door
        r = w * 0.33
        cy = h * 0.45
        ring, _ = lathe([(r * 0.75, 0.0), (r, 0.0), (r, 0.04), (r * 0.75, 0.04)], sections=28)
        ring = place(ring, "xzy")
        ring = translated(ring, (0, cy, front - 0.04))
        a.add(ring, solid("door", (0.7, 0.72, 0.75)))
        _front_disc(a, r * 0.76, (0, cy, front), solid("glass", (0.15, 0.2, 0.28)), depth=0.02)
    else:  # top loader: a lid on top
        a.add(box((w * 0.8, 0.01, d * 0.6), (0, h + 0.005, -0.02)), solid("lid", jitter(rng, body.kd, 0.03)))
    a.add(box((w - 0.02, 0.1, 0.01), (0, h - 0.06, front - 0.005)), solid("panel", jitter(rng, (0.25, 0.25, 0.27))))
    _front_disc(a, 0.03, (w * 0.3, h - 0.06, front - 0.01), solid("knob", (0.85, 0.85, 0.87)))
    return a


def dishwasher(rng: np.random.Generator) -> Assembly:
    a = Assembly()
    w, h, d = rng.uniform(0.58, 0.62), rng.uniform(0.8, 0.88), rng.uniform(0.56, 0.62)
    body = solid("body", jitter(rng, choice(rng, WHITE_GOODS), 0.03))
    a.add(box((w, h, d), (0, h / 2, 0)), body)
    a.add(
        box((w - 0.01, h - 0.18, 0.015), (0, (h - 0.18) / 2 + 0.08, -d / 2 - 0.007)),
        solid("door", jitter(rng, body.kd, 0.05)),
    )
    a.add(box((w - 0.01, 0.08, 0.015), (0, h - 0.05, -d / 2 - 0.007)), solid("panel", (0.15, 0.15, 0.17)))
    a.add(
        rod((-w * 0.35, h - 0.14, -d / 2 - 0.03), (w * 0.35, h - 0.14, -d / 2 - 0.03), 0.01, sections=8),
        solid("handle", (0.8, 0.8, 0.82)),
    )
    a.add(box((w - 0.04, 0.08, 0.01), (0, 0.04, -d / 2 + 0.02)), solid("kick", DARK))
    return a


def stove(rng: np.random.Generator) -> Assembly:
    a = Assembly()
    w, h, d = rng.uniform(0.58, 0.78), rng.uniform(0.85, 0.92), rng.uniform(0.6, 0.68)
    body = solid("body", jitter(rng, choice(rng, WHITE_GOODS), 0.03))
    a.add(box((w, h, d), (0, h / 2, 0)), body)
    a.add(box((w, 0.01, d), (0, h + 0.005, 0)), solid("hob", (0.08, 0.08, 0.09)))
    burner = solid("burners", (0.3, 0.3, 0.3))
    for x in (-w / 4, w / 4):
        for z in (-d / 4, d / 4):
            a.add(rod((x, h + 0.01, z), (x, h + 0.02, z), rng.uniform(0.06, 0.09), sections=16), burner)
    if rng.uniform() < 0.6:
        a.add(box((w, rng.uniform(0.08, 0.2), 0.03), (0, h + 0.07, d / 2 - 0.015)), body)
    a.add(box((w * 0.75, h * 0.4, 0.01), (0, h * 0.42, -d / 2 - 0.005)), solid("oven_window", DARK))
    a.add(
        rod((-w * 0.35, h * 0.7, -d / 2 - 0.04), (w * 0.35, h * 0.7, -d / 2 - 0.04), 0.01, sections=8),
        solid("handle", (0.8, 0.8, 0.82)),
    )
    for x in np.linspace(-w * 0.35, w * 0.35, 4):
        _front_disc(a, 0.02, (x, h * 0.85, -d / 2), solid("knobs", (0.15, 0.15, 0.15)), depth=0.025)
    return a


def loudspeaker(rng: np.random.Generator) -> Assembly:
    a = Assembly()
    w, d = rng.uniform(0.18, 0.35), rng.uniform(0.2, 0.35)
    h = w * rng.uniform(1.3, 4.0)
    body = wood(rng, "cabinet") if rng.uniform() < 0.5 else solid("cabinet", jitter(rng, (0.08, 0.08, 0.09), 0.03))
    a.add(box((w, h, d), (0, h / 2, 0)), body)
    cone_mat, rim = solid("cones", (0.12, 0.12, 0.13)), solid("rims", (0.45, 0.45, 0.47))
    woofers = max(1, int((h - 0.1) // (w * 1.05)))
    r = w * 0.38
    for k in range(woofers):
        y = r + 0.03 + k * (2 * r + 0.03)
        cone, _ = lathe([(r * 0.15, -0.04), (r, 0.0)], sections=24)
        cone = place(cone, "xzy")
        cone = translated(cone, (0, y, -d / 2 - 0.001))
        a.add(cone, cone_mat)
        ring, _ = lathe([(r, 0.0), (r * 1.1, 0.0)], sections=24)
        ring = place(ring, "xzy")
        ring = translated(ring, (0, y, -d / 2 - 0.002))
        a.add(ring, rim)
    _front_disc(a, w * 0.12, (0, h - w * 0.2, -d / 2), rim)
    return a


def printer(rng: np.random.Generator) -> Assembly:
    a = Assembly()
    w, h, d = rng.uniform(0.4, 0.55), rng.uniform(0.15, 0.35), rng.uniform(0.3, 0.45)
    body = solid("body", jitter(rng, choice(rng, ((0.92, 0.92, 0.9), (0.2, 0.2, 0.22), (0.6, 0.6, 0.62)))))
    a.add(box((w, h, d), (0, h / 2, 0)), body)
    accent = solid("trim", jitter(rng, tuple(1.0 - c * 0.7 for c in body.kd), 0.03))
    a.add(box((w * 0.7, 0.01, 0.18), (0, h * 0.3, -d / 2 - 0.09)), accent)
    a.add(
        extrude(
            [(d / 2 - 0.02, h), (d / 2 + 0.1, h + 0.2), (d / 2 + 0.08, h + 0.21), (d / 2 - 0.05, h + 0.01)],
            w * 0.65,
            axes="zyx",
        ),
        accent,
    )
    a.add(box((w * 0.6, 0.16, 0.003), (0, h + 0.09, d / 2 + 0.04)), solid("paper", (1.0, 1.0, 1.0)))
    a.add(box((w * 0.2, 0.02, 0.08), (w * 0.3, h + 0.01, -d / 2 + 0.06)), solid("panel", (0.1, 0.12, 0.15)))
    return a


def mailbox(rng: np.random.Generator) -> Assembly:
    a = Assembly()
    w, d, bh = rng.uniform(0.16, 0.24), rng.uniform(0.45, 0.55), rng.uniform(0.18, 0.26)
    post_h = rng.uniform(0.9, 1.1)
    post = wood(rng, "post")
    paint = solid(
        "box", jitter(rng, choice(rng, ((0.15, 0.15, 0.16), (0.1, 0.25, 0.55), (0.7, 0.1, 0.1), (0.85, 0.85, 0.85))))
    )
    a.add(box((0.08, post_h, 0.08), (0, post_h / 2, 0)), post)
    ang = np.linspace(0, np.pi, 9)
    outline = [(w / 2, 0.0)] + [(w / 2 * np.cos(t), bh - w / 2 + w / 2 * np.sin(t)) for t in ang] + [(-w / 2, 0.0)]
    body = extrude(outline[::-1], d, axes="xyz")
    body = translated(body, (0, post_h, 0))
    a.add(body, paint)
    a.add(box((0.01, 0.15, 0.03), (w / 2 + 0.01, post_h + bh + 0.02, d * 0.25)), solid("flag", (0.9, 0.1, 0.1)))
    a.add(box((w * 0.3, 0.02, 0.02), (0, post_h + bh * 0.5, -d / 2 - 0.01)), solid("latch", (0.7, 0.7, 0.7)))
    return a


def bathtub(rng: np.random.Generator) -> Assembly:
    a = Assembly()
    length, w, h = rng.uniform(1.4, 1.8), rng.uniform(0.7, 0.85), rng.uniform(0.45, 0.6)
    wall = 0.06
    enamel = solid("enamel", jitter(rng, (0.96, 0.96, 0.95), 0.02))
    inside = solid("inside", jitter(rng, (0.9, 0.93, 0.95), 0.02))
    feet = rng.uniform() < 0.4
    y0 = 0.12 if feet else 0.0
    a.add(box((w, wall, length), (0, y0 + wall / 2, 0)), enamel)
    for x in (-(w - wall) / 2, (w - wall) / 2):
        a.add(box((wall, h, length), (x, y0 + h / 2, 0)), enamel)
    for z in (-(length - wall) / 2, (length - wall) / 2):
        a.add(box((w - 2 * wall, h, wall), (0, y0 + h / 2, z)), enamel)
    a.add(box((w - 2 * wall, 0.002, length - 2 * wall), (0, y0 + wall + 0.001, 0)), inside)
    metal = solid("fittings", jitter(rng, choice(rng, ((0.8, 0.8, 0.82), (0.75, 0.6, 0.3)))))
    if feet:
        for x in (-w / 2 + 0.08, w / 2 - 0.08):
            for z in (-length / 2 + 0.1, length / 2 - 0.1):
                a.add(rod((x, 0, z), (x, y0, z), 0.03, sections=8), metal)
    a.add(rod((0, y0 + h, length / 2 - 0.03), (0, y0 + h + 0.12, length / 2 - 0.03), 0.015, sections=8), metal)
    a.add(rod((0, y0 + h + 0.12, length / 2 - 0.03), (0, y0 + h + 0.12, length / 2 - 0.15), 0.015, sections=8), metal)
    return a


def piano(rng: np.random.Generator) -> Assembly:
    a = Assembly()
    w = rng.uniform(1.3, 1.55)
    finish = solid(
        "finish", jitter(rng, choice(rng, ((0.03, 0.03, 0.03), (0.3, 0.15, 0.08), (0.95, 0.95, 0.93))), 0.02)
    )
    key_y, key_d = 0.72, 0.16
    h, d = rng.uniform(1.1, 1.3), rng.uniform(0.5, 0.62)
    a.add(box((w, h, d - key_d), (0, h / 2, key_d / 2)), finish)
    a.add(box((w, 0.08, key_d + 0.04), (0, key_y - 0.04, -d / 2 + key_d / 2)), finish)
    a.add(box((w - 0.12, 0.02, key_d), (0, key_y + 0.01, -d / 2 + key_d / 2)), solid("white_keys", (0.97, 0.97, 0.95)))
    black = solid("black_keys", (0.02, 0.02, 0.02))
    n = 36
    for k in range(n):
        if k % 7 in (2, 6):
            continue
        x = -(w - 0.12) / 2 + (k + 1) * (w - 0.12) / (n + 1)
        a.add(box((0.012, 0.015, key_d * 0.6), (x, key_y + 0.027, -d / 2 + key_d * 0.3 + 0.02)), black)
    for x in (-w / 2 + 0.05, w / 2 - 0.05):
        a.add(box((0.05, key_y - 0.08, 0.06), (x, (key_y - 0.08) / 2, -d / 2 + 0.05)), finish)
    a.add(box((0.6, 0.06, 0.3), (0, 0.47, -d / 2 - 0.35)), finish)  # bench
    for x in (-0.25, 0.25):
        for z in (-d / 2 - 0.47, -d / 2 - 0.23):
            a.add(box((0.04, 0.44, 0.04), (x, 0.22, z)), finish)
    return a


def birdhouse(rng: np.random.Generator) -> Assembly:
    a = Assembly()
    w, h = rng.uniform(0.14, 0.22), rng.uniform(0.16, 0.26)
    roof_h = w * rng.uniform(0.35, 0.6)
    body = wood(rng, "walls")
    roof = solid("roof", jitter(rng, choice(rng, ((0.55, 0.15, 0.1), (0.2, 0.3, 0.2), (0.3, 0.3, 0.32)))))
    pole = rng.uniform() < 0.6
    y0 = 1.0 if pole else 0.0
    a.add(box((w, h, w), (0, y0 + h / 2, 0)), body)
    over, t, base = 0.03, 0.015, y0 + h
    drop = over * roof_h / (w / 2)  # the roof line continued past the wall
    for sx in (-1, 1):
        ridge, eave = (0.0, base + roof_h), (sx * (w / 2 + over), base - drop)
        outline = [ridge, eave, (eave[0], eave[1] + t), (ridge[0], ridge[1] + t)]
        a.add(extrude(outline, w + 2 * over, axes="xyz"), roof)
    a.add(extrude([(-w / 2, base), (w / 2, base), (0.0, base + roof_h)], w, axes="xyz"), body)
    _front_disc(a, w * 0.15, (0, y0 + h * 0.65, -w / 2), solid("hole", (0.03, 0.03, 0.03)), depth=0.005)
    a.add(rod((0, y0 + h * 0.4, -w / 2), (0, y0 + h * 0.4, -w / 2 - 0.05), 0.006, sections=6), body)
    if pole:
        a.add(box((0.05, y0, 0.05), (0, y0 / 2, 0)), solid("pole", jitter(rng, (0.4, 0.3, 0.2))))
    return a

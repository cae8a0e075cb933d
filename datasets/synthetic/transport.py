"""Long-hulled transport generators: watercraft, train, rocket. Metres, y up, bow / nose
towards -z (rockets stand on their fins)."""

from __future__ import annotations

import numpy as np

from clip2point.datasets.synthetic.assembly import Assembly, choice
from clip2point.datasets.synthetic.geometry import extrude, lathe, place
from clip2point.datasets.synthetic.materials import jitter, solid
from clip2point.datasets.synthetic.primitives import box, rod, transformed, translated
from clip2point.datasets.synthetic.vehicles import GLASS, LIVERY


def watercraft(rng: np.random.Generator) -> Assembly:
    style = choice(rng, ("sailboat", "motorboat", "ship"))
    a = Assembly()
    length = {"sailboat": 10.0, "motorboat": 8.0, "ship": 60.0}[style] * rng.uniform(0.85, 1.15)
    beam, depth = length * rng.uniform(0.22, 0.32), length * rng.uniform(0.08, 0.12)
    z = lambda f: -length / 2 + f * length  # noqa: E731
    half = beam / 2
    deck = [
        (0.0, z(0.0)),
        (half * 0.7, z(0.15)),
        (half, z(0.45)),
        (half * 0.9, z(1.0)),
        (-half * 0.9, z(1.0)),
        (-half, z(0.45)),
        (-half * 0.7, z(0.15)),
    ]
    hull = solid("hull", jitter(rng, choice(rng, ((0.95, 0.95, 0.95), (0.1, 0.15, 0.35), (0.6, 0.1, 0.1)))))
    a.add(extrude(deck, depth, axes="xzy", offset=depth / 2), hull)
    a.add(
        extrude([(x * 0.9, zz) for x, zz in deck], depth * 0.3, axes="xzy", offset=-depth * 0.1),
        solid("keel", (0.5, 0.12, 0.1)),
    )
    if style == "sailboat":
        mast_h = length * rng.uniform(1.0, 1.4)
        a.add(
            rod((0, depth, z(0.35)), (0, depth + mast_h, z(0.35)), length * 0.008, sections=8),
            solid("mast", (0.8, 0.8, 0.8)),
        )
        sail = [(z(0.37), depth + 0.3), (z(0.8), depth + 0.3), (z(0.37), depth + mast_h * 0.95)]
        a.add(extrude(sail, 0.02, axes="zyx"), solid("sail", (0.97, 0.97, 0.93)))
        jib = [(z(0.33), depth + mast_h * 0.85), (z(0.33), depth + 0.3), (z(0.05), depth + 0.2)]
        a.add(extrude(jib, 0.02, axes="zyx"), solid("sail", (0.97, 0.97, 0.93)))
    else:
        cab_len = length * (0.35 if style == "motorboat" else 0.2)
        cab_h = depth * (0.9 if style == "motorboat" else 1.5)
        cab_z = z(0.55) if style == "motorboat" else z(0.75)
        cabin = solid("cabin", (0.92, 0.92, 0.9))
        a.add(box((beam * 0.6, cab_h, cab_len), (0, depth + cab_h / 2, cab_z)), cabin)
        a.add(box((beam * 0.62, cab_h * 0.3, cab_len * 0.8), (0, depth + cab_h * 0.7, cab_z)), solid("glass", GLASS))
        if style == "ship":
            a.add(
                rod(
                    (0, depth + cab_h, cab_z + cab_len * 0.8),
                    (0, depth + cab_h * 2.0, cab_z + cab_len * 0.8),
                    beam * 0.12,
                    sections=12,
                ),
                solid("funnel", jitter(rng, choice(rng, LIVERY))),
            )
    return a


def train(rng: np.random.Generator) -> Assembly:
    style = choice(rng, ("steam", "diesel", "highspeed"))
    a = Assembly()
    length, w = rng.uniform(12.0, 20.0), 3.0
    paint = solid(
        "paint",
        jitter(
            rng, choice(rng, ((0.1, 0.1, 0.1), (0.6, 0.1, 0.1), (0.1, 0.3, 0.15), (0.9, 0.9, 0.9), (0.9, 0.7, 0.1)))
        ),
    )
    glass = solid("glass", GLASS)
    for z in np.linspace(-length / 2 + 1.2, length / 2 - 1.2, int(length // 3)):
        for sx in (-1, 1):
            a.add(rod((sx * 1.3, 0.5, z), (sx * 1.5, 0.5, z), 0.5, sections=14), solid("wheels", (0.2, 0.2, 0.2)))
    a.add(box((w * 0.9, 0.5, length), (0, 0.75, 0)), solid("chassis", (0.15, 0.15, 0.15)))
    if style == "steam":
        boiler, _ = lathe([(0.0, 0.0), (1.3, 0.0), (1.3, length * 0.65), (0.0, length * 0.65)], sections=20)
        boiler = place(boiler, "xzy")
        boiler = translated(boiler, (0, 2.3, -length / 2))
        a.add(boiler, paint)
        a.add(box((w, 3.0, length * 0.3), (0, 2.5, length / 2 - length * 0.17)), paint)
        a.add(box((w + 0.02, 0.9, length * 0.2), (0, 3.2, length / 2 - length * 0.17)), glass)
        a.add(
            rod((0, 3.4, -length / 2 + 1.5), (0, 4.6, -length / 2 + 1.5), 0.4, sections=14),
            solid("chimney", (0.08, 0.08, 0.08)),
        )
    else:
        h = 3.6 if style == "diesel" else 3.2
        nose = 0.6 if style == "diesel" else 4.0
        side = [
            (-length / 2, 1.0),
            (length / 2, 1.0),
            (length / 2, h),
            (-length / 2 + nose, h),
            (-length / 2, 1.0 + (h - 1.0) * 0.35),
        ]
        a.add(extrude(side, w, axes="zyx"), paint)
        a.add(box((w + 0.02, 0.7, length - nose - 1.0), (0, h - 0.8, nose / 2 + 0.3)), glass)
        a.add(
            extrude(
                [
                    (-length / 2 + nose * 0.3, 1.0 + (h - 1.0) * 0.55),
                    (-length / 2 + nose * 0.95, h - 0.1),
                    (-length / 2 + nose, h - 0.1),
                    (-length / 2 + nose, h - 0.8),
                ],
                w * 0.8,
                axes="zyx",
            ),
            glass,
        )
    return a


def rocket(rng: np.random.Generator) -> Assembly:
    a = Assembly()
    r, h = rng.uniform(0.3, 0.5), rng.uniform(4.0, 7.0)
    nose = h * rng.uniform(0.15, 0.25)
    body = solid("body", jitter(rng, choice(rng, ((0.95, 0.95, 0.95), (0.8, 0.8, 0.82)))))
    accent = solid("accent", jitter(rng, choice(rng, LIVERY)))
    prof = [(0.0, 0.0), (r * 0.8, 0.0), (r, 0.2), (r, h - nose)]
    prof += [(r * np.cos(t), h - nose + nose * np.sin(t)) for t in np.linspace(0.2, np.pi / 2, 6)]
    mesh, _ = lathe(prof, sections=24)
    a.add(mesh, body)
    fins = int(rng.integers(3, 5))
    fin_h, fin_w = h * rng.uniform(0.15, 0.25), r * rng.uniform(1.0, 1.8)
    for k in range(fins):
        fin = extrude(
            [(r * 0.9, 0.0), (r + fin_w, -fin_h * 0.2), (r + fin_w, fin_h * 0.3), (r * 0.9, fin_h)], 0.05, axes="xyz"
        )
        ang = 2 * np.pi * k / fins
        rot = np.array(
            [[np.cos(ang), 0, np.sin(ang), 0], [0, 1, 0, 0], [-np.sin(ang), 0, np.cos(ang), 0], [0, 0, 0, 1.0]]
        )
        fin = translated(transformed(fin, rot), (0, 0.3, 0))
        a.add(fin, accent)
    a.add(rod((0, h * 0.55, 0), (0, h * 0.6, 0), r * 1.01, sections=24), accent)
    return a

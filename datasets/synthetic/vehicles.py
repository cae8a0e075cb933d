"""Road and air vehicle generators: airplane, car, bus, motorbike, skateboard. Metres, y up,
nose / bonnet towards -z."""

from __future__ import annotations

import math

import numpy as np
import trimesh

from clip2point.datasets.synthetic.assembly import Assembly, choice
from clip2point.datasets.synthetic.geometry import extrude, lathe, place, tube
from clip2point.datasets.synthetic.materials import Texture, jitter, solid, texture_seed, textured
from clip2point.datasets.synthetic.primitives import box, rod, translated

PAINTS = (
    (0.75, 0.08, 0.08),
    (0.1, 0.22, 0.6),
    (0.78, 0.78, 0.8),
    (0.95, 0.95, 0.95),
    (0.08, 0.08, 0.09),
    (0.9, 0.7, 0.1),
    (0.15, 0.4, 0.2),
    (0.45, 0.47, 0.5),
)
LIVERY = ((0.1, 0.25, 0.6), (0.8, 0.1, 0.1), (0.1, 0.5, 0.5), (0.95, 0.6, 0.1))
GLASS = (0.12, 0.16, 0.22)
TYRE = (0.05, 0.05, 0.05)


def _along_z(profile: list[tuple[float, float]], *, sections: int = 20) -> trimesh.Trimesh:
    """A lathe whose axis is +z instead of +y (fuselages, engines, hulls seen from above)."""
    mesh, _ = lathe(profile, sections=sections)
    return place(mesh, "xzy")


def _wing(span: float, root: float, tip: float, sweep: float, thick: float, z_root: float, y: float) -> trimesh.Trimesh:
    """Both wings as one swept trapezoid outline in the x-z plane, thin along y."""
    half = span / 2
    outline = [
        (-half, z_root + sweep),
        (0, z_root),
        (half, z_root + sweep),
        (half, z_root + sweep + tip),
        (0, z_root + root),
        (-half, z_root + sweep + tip),
    ]
    return extrude(outline, thick, axes="xzy", offset=y)


def airplane(rng: np.random.Generator) -> Assembly:
    style = choice(rng, ("airliner", "airliner", "fighter", "propeller", "glider"))
    a = Assembly()
    length = {"airliner": 30.0, "fighter": 15.0, "propeller": 9.0, "glider": 8.0}[style] * rng.uniform(0.85, 1.15)
    r = (
        length
        * ({"airliner": 0.055, "fighter": 0.06, "propeller": 0.07, "glider": 0.045}[style])
        * rng.uniform(0.9, 1.1)
    )
    body = solid("body", jitter(rng, choice(rng, ((0.95, 0.95, 0.96), (0.8, 0.82, 0.85), (0.55, 0.58, 0.6)))))
    accent = solid("livery", jitter(rng, choice(rng, LIVERY)))
    dark = solid("engine", (0.3, 0.3, 0.32))
    nose = 0.12 if style != "fighter" else 0.25
    profile = [(0.0, 0.0), (r * 0.55, length * nose * 0.35), (r, length * nose), (r, length * 0.62), (r * 0.25, length)]
    a.add(_along_z([(p, z - length / 2) for p, z in profile]), body)
    a.add(
        box((r * 1.2, r * 0.35, length * 0.06), (0, r * 0.55, -length / 2 + length * nose * 0.8)),
        solid("cockpit", GLASS),
    )
    sweep_deg = {
        "airliner": rng.uniform(22, 35),
        "fighter": rng.uniform(40, 55),
        "propeller": 0.0,
        "glider": rng.uniform(0, 4),
    }[style]
    span = length * {"airliner": 1.0, "fighter": 0.65, "propeller": 1.2, "glider": 2.2}[style] * rng.uniform(0.9, 1.1)
    root = length * {"airliner": 0.2, "fighter": 0.45, "propeller": 0.16, "glider": 0.12}[style]
    tip = root * {"airliner": 0.3, "fighter": 0.08, "propeller": 0.8, "glider": 0.45}[style]
    sweep = math.tan(math.radians(sweep_deg)) * span / 2  # libm: numpy's tan is SIMD-dispatched per CPU
    wing_y = -r * 0.45 if style in ("airliner", "fighter") else r * 0.8
    z_wing = -length * (0.08 if style != "fighter" else 0.05)
    a.add(_wing(span, root, tip, sweep, r * 0.18, z_wing, wing_y), body)
    tail_z = length / 2 - length * 0.16
    a.add(_wing(span * 0.35, root * 0.45, root * 0.2, sweep * 0.3, r * 0.12, tail_z, r * 0.3), body)
    fin_h = r * rng.uniform(2.2, 3.0)
    fin = [
        (tail_z - length * 0.02, 0),
        (tail_z + length * 0.14, 0),
        (tail_z + length * 0.16, fin_h),
        (tail_z + length * 0.09, fin_h),
    ]
    a.add(extrude(fin, r * 0.15, axes="zyx"), accent)
    if style == "airliner":
        engines = choice(rng, (1, 1, 2))
        for k in range(engines):
            x = span * (0.17 + 0.16 * k)
            z0 = z_wing + sweep * x / (span / 2) - length * 0.06
            eng = [
                (r * 0.35, z0),
                (r * 0.42, z0 + 0.02 * length),
                (r * 0.4, z0 + 0.12 * length),
                (r * 0.2, z0 + 0.14 * length),
            ]
            for sx in (-x, x):
                mesh = _along_z(eng, sections=14)
                mesh = translated(mesh, (sx, wing_y - r * 0.5, 0))
                a.add(mesh, dark)
    if style == "propeller":
        nose_z = -length / 2
        a.add(rod((0, 0, nose_z - 0.15), (0, 0, nose_z + 0.05), r * 0.2, sections=10), dark)
        blade = length * 0.1
        a.add(box((0.08, blade * 2, 0.04), (0, 0, nose_z - 0.1)), dark)
        for sx in (-r * 1.4, r * 1.4):
            a.add(
                rod((sx, -r * 1.8, z_wing + root * 0.3), (sx * 0.5, 0, z_wing + root * 0.3), r * 0.08, sections=6), dark
            )
            a.add(
                rod(
                    (sx - 0.1, -r * 1.9, z_wing + root * 0.3),
                    (sx + 0.1, -r * 1.9, z_wing + root * 0.3),
                    r * 0.25,
                    sections=12,
                ),
                solid("tyre", TYRE),
            )
    if style == "fighter":
        fin2 = extrude(fin, r * 0.12, axes="zyx", offset=r * 0.6)
        a.add(fin2, accent)
    return a


def _car_side(
    length: float,
    clearance: float,
    belt: float,
    roof: float,
    cabin: tuple[float, float, float, float],
    bonnet_drop: float,
) -> tuple[list, list]:
    """Side outlines (z, y) of the painted body and the glass house: cabin = (windscreen
    base, roof front, roof back, rear window base) as fractions of the length from the front."""
    z = lambda f: -length / 2 + f * length  # noqa: E731
    lower = [
        (z(0.0), clearance),
        (z(1.0), clearance),
        (z(1.0), belt * 0.92),
        (z(cabin[3]), belt),
        (z(cabin[0]), belt),
        (z(0.02), belt - bonnet_drop),
        (z(0.0), belt - bonnet_drop - 0.05),
    ]
    upper = [(z(cabin[0]), belt), (z(cabin[3]), belt), (z(cabin[2]), roof), (z(cabin[1]), roof)]
    return lower, upper


def car(rng: np.random.Generator) -> Assembly:
    style = choice(rng, ("sedan", "hatchback", "van", "suv", "sports", "pickup"))
    a = Assembly()
    length, width = rng.uniform(3.9, 4.9), rng.uniform(1.7, 1.95)
    wheel_r = rng.uniform(0.3, 0.36) if style not in ("suv", "pickup") else rng.uniform(0.36, 0.42)
    clearance = wheel_r * 0.6
    belt = {"sedan": 0.85, "hatchback": 0.85, "van": 1.0, "suv": 1.05, "sports": 0.7, "pickup": 1.0}[style]
    roof = {"sedan": 1.42, "hatchback": 1.45, "van": 1.9, "suv": 1.75, "sports": 1.15, "pickup": 1.75}[style]
    cabin = {
        "sedan": (0.3, 0.42, 0.7, 0.8),
        "hatchback": (0.32, 0.45, 0.85, 0.98),
        "van": (0.12, 0.22, 0.99, 1.0),
        "suv": (0.3, 0.38, 0.95, 0.98),
        "sports": (0.36, 0.5, 0.68, 0.85),
        "pickup": (0.28, 0.36, 0.55, 0.57),
    }[style]
    paint = solid("paint", jitter(rng, choice(rng, PAINTS), 0.04))
    lower, upper = _car_side(
        length,
        clearance,
        belt * rng.uniform(0.95, 1.05),
        roof * rng.uniform(0.95, 1.05),
        cabin,
        0.12 if style != "van" else 0.0,
    )
    a.add(extrude(lower, width, axes="zyx"), paint)
    a.add(extrude(upper, width * 0.9, axes="zyx"), solid("glass", GLASS))
    a.add(
        box(
            (width * 0.9 + 0.004, 0.05, length * (cabin[2] - cabin[1]) * 0.9),
            (0, upper[2][1] + 0.02, -length / 2 + length * (cabin[1] + cabin[2]) / 2),
        ),
        paint,
    )
    if style == "pickup":
        bed_z0 = -length / 2 + length * 0.58
        for sx in (-1, 1):
            a.add(
                box((0.05, 0.3, length * 0.42), (sx * (width / 2 - 0.025), belt + 0.15, bed_z0 + length * 0.21)), paint
            )
        a.add(box((width, 0.3, 0.05), (0, belt + 0.15, length / 2 - 0.025)), paint)
    tyre, hub = solid("tyre", TYRE), solid("hub", (0.7, 0.7, 0.72))
    axle = length * rng.uniform(0.3, 0.36)
    for z in (-axle, axle * 0.95):
        for sx in (-1, 1):
            x0, x1 = sx * (width / 2 - 0.2), sx * (width / 2 + 0.02)
            a.add(rod((x0, wheel_r, z), (x1, wheel_r, z), wheel_r, sections=18), tyre)
            a.add(rod((x1, wheel_r, z), (x1 + sx * 0.01, wheel_r, z), wheel_r * 0.55, sections=12), hub)
    head_y = belt - (0.12 if style != "van" else 0.0) - 0.12
    for sx in (-1, 1):
        a.add(
            box((0.28, 0.08, 0.03), (sx * width * 0.33, head_y, -length / 2 - 0.01)),
            solid("headlight", (1.0, 0.97, 0.8)),
        )
        a.add(
            box((0.25, 0.08, 0.03), (sx * width * 0.35, belt * 0.8, length / 2 + 0.01)),
            solid("taillight", (0.8, 0.05, 0.05)),
        )
    return a


def bus(rng: np.random.Generator) -> Assembly:
    a = Assembly()
    length, width, height = rng.uniform(9.0, 13.0), rng.uniform(2.4, 2.6), rng.uniform(2.9, 3.4)
    decks = 2 if rng.uniform() < 0.25 else 1
    height *= 1.4 if decks == 2 else 1.0
    wheel_r = 0.5
    paint = solid(
        "paint", jitter(rng, choice(rng, ((0.9, 0.7, 0.05), (0.8, 0.1, 0.1), (0.9, 0.9, 0.9), (0.1, 0.3, 0.6))))
    )
    if rng.uniform() < 0.4:
        paint = textured(
            "paint", Texture("label", paint.kd, jitter(rng, choice(rng, LIVERY)), seed=texture_seed(rng))
        )
    a.add(box((width, height - 0.35, length), (0, 0.35 + (height - 0.35) / 2, 0)), paint)
    glass = solid("glass", GLASS)
    for deck in range(decks):
        y = 0.35 + (height - 0.35) * (0.62 + deck) / decks
        a.add(box((width + 0.02, 0.8 / decks**0.3, length * 0.86), (0, y, 0.3)), glass)
    a.add(box((width * 0.9, height * 0.35, 0.02), (0, height * 0.62, -length / 2 - 0.01)), glass)
    for z in (-length * 0.3, length * 0.3):
        for sx in (-1, 1):
            a.add(
                rod((sx * (width / 2 - 0.3), wheel_r, z), (sx * (width / 2 + 0.01), wheel_r, z), wheel_r, sections=16),
                solid("tyre", TYRE),
            )
    return a


def _wheel(a: Assembly, center: tuple[float, float, float], radius: float, width: float, *, hub: float = 0.5) -> None:
    """A tyre with a hub, axle along x."""
    x, y, z = center
    a.add(rod((x - width / 2, y, z), (x + width / 2, y, z), radius, sections=18), solid("tyre", TYRE))
    a.add(
        rod((x - width / 2 - 0.005, y, z), (x + width / 2 + 0.005, y, z), radius * hub, sections=12),
        solid("hub", (0.7, 0.7, 0.72)),
    )


def motorbike(rng: np.random.Generator) -> Assembly:
    a = Assembly()
    wheelbase, r = rng.uniform(1.2, 1.75), rng.uniform(0.26, 0.4)
    paint = solid("paint", jitter(rng, choice(rng, PAINTS)))
    metal = solid("frame", (0.5, 0.5, 0.52))
    front, back = -wheelbase / 2, wheelbase / 2
    for z in (front, back):
        _wheel(a, (0.0, r, z), r, 0.12, hub=0.35)
    a.add(
        extrude(
            [
                (front + 0.35, r + 0.25),
                (back - 0.35, r + 0.2),
                (back - 0.1, r + 0.35),
                (front + 0.5, r + 0.55),
                (front + 0.3, r + 0.5),
            ],
            0.28,
            axes="zyx",
        ),
        paint,
    )
    a.add(box((0.26, 0.08, 0.55), (0, r + 0.45, back - 0.35)), solid("seat", (0.06, 0.06, 0.06)))
    a.add(box((0.22, 0.22, 0.35), (0, r + 0.05, 0.05)), solid("engine", (0.35, 0.35, 0.37)))
    bar_top = (0.0, r + 0.75, front + 0.2)
    a.add(tube([(0.0, r, front), bar_top], 0.025, sections=8), metal)
    a.add(rod((-0.35, bar_top[1], bar_top[2]), (0.35, bar_top[1], bar_top[2]), 0.015, sections=8), metal)
    a.add(tube([(0.0, r, back), (0.0, r + 0.3, back - 0.3)], 0.025, sections=8), metal)
    if rng.uniform() < 0.5:
        a.add(box((0.3, 0.3, 0.08), (0, r + 0.65, front + 0.15)), solid("fairing", jitter(rng, paint.kd, 0.05)))
    return a


def skateboard(rng: np.random.Generator) -> Assembly:
    a = Assembly()
    length, w = rng.uniform(0.6, 1.05), rng.uniform(0.18, 0.26)
    ends = [(np.cos(t) * w / 2, length / 2 - w / 2 + np.sin(t) * w / 2) for t in np.linspace(0, np.pi, 9)]
    outline = ends + [(-x, -y) for x, y in ends]
    deck_color = jitter(rng, choice(rng, ((0.8, 0.6, 0.35), (0.1, 0.1, 0.1), (0.75, 0.15, 0.1), (0.15, 0.35, 0.6))))
    deck = (
        solid("deck", deck_color)
        if rng.uniform() < 0.6
        else textured(
            "deck",
            Texture(
                choice(rng, ("stripes", "checker")), deck_color, (0.95, 0.95, 0.9), seed=texture_seed(rng)
            ),
        )
    )
    a.add(extrude(outline, 0.012, axes="xzy", offset=0.09), deck)
    truck, wheel = solid("trucks", (0.7, 0.7, 0.72)), solid(
        "wheels", jitter(rng, choice(rng, ((0.95, 0.93, 0.85), (0.9, 0.3, 0.2))))
    )
    for z in (-length * 0.32, length * 0.32):
        a.add(box((w * 0.8, 0.03, 0.04), (0, 0.065, z)), truck)
        for sx in (-1, 1):
            a.add(rod((sx * w * 0.38, 0.028, z), (sx * w * 0.52, 0.028, z), 0.028, sections=14), wheel)
    return a

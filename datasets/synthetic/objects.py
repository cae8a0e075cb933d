"""Household-object generators: bottle, bowl, mug, can, jar, trash bin, flowerpot, lamp,
display, laptop. Mostly surfaces of revolution (with their own UVs for labels and patterns);
several are open, single-sided shells as many ShapeNet models are."""

from __future__ import annotations

import numpy as np

from clip2point.datasets.synthetic.assembly import Assembly, choice
from clip2point.datasets.synthetic.geometry import arc, lathe, tube
from clip2point.datasets.synthetic.materials import Material, Texture, jitter, solid, texture_seed, textured
from clip2point.datasets.synthetic.primitives import ball, box, compose, rod, transformed, translated

CERAMICS = (
    (0.95, 0.95, 0.93),
    (0.15, 0.3, 0.6),
    (0.75, 0.15, 0.12),
    (0.2, 0.2, 0.22),
    (0.95, 0.8, 0.3),
    (0.35, 0.6, 0.45),
)
GLASSES = ((0.12, 0.35, 0.15), (0.4, 0.22, 0.08), (0.55, 0.75, 0.85), (0.85, 0.88, 0.9))
METALS = ((0.15, 0.15, 0.16), (0.62, 0.63, 0.66), (0.75, 0.6, 0.3))


def _vessel(
    a: Assembly,
    outer: list[tuple[float, float]],
    wall: float,
    floor: float,
    outside: Material,
    inside: Material | None = None,
    sections: int = 28,
) -> None:
    """A thick open vessel from its outer profile (bottom centre -> rim): the outside up to the
    rounded rim, then the inside wall back down to the floor, as two material groups (glazed
    insides, lined bins) that share the rim ring so the surface has no gap."""
    rim_r, rim_y = outer[-1]
    rim = (rim_r - wall / 2, rim_y + wall * 0.3)
    inner = [(max(r - wall, 0.0), y) for r, y in reversed(outer[1:]) if y > floor]
    a.add_lathe(outer + [rim], outside, sections)
    a.add_lathe([rim] + inner + [(max(outer[1][0] - wall, 0.0), floor), (0.0, floor)], inside or outside, sections)


def _lighter(color: tuple[float, float, float], amount: float = 0.3) -> tuple[float, float, float]:
    return tuple(round(c + (1.0 - c) * amount, 4) for c in color)  # type: ignore[return-value]


def bottle(rng: np.random.Generator) -> Assembly:
    style = choice(rng, ("wine", "water", "beer", "square", "jug"))
    a = Assembly()
    r = rng.uniform(0.03, 0.045) * (1.6 if style == "jug" else 1.0)
    body = rng.uniform(0.14, 0.22) * (1.2 if style == "wine" else 1.0)
    neck_r = r * rng.uniform(0.3, 0.42)
    neck = {"wine": 0.09, "water": 0.03, "beer": 0.06, "square": 0.04, "jug": 0.05}[style] * rng.uniform(0.8, 1.2)
    shoulder = {"wine": 0.03, "water": 0.06, "beer": 0.05, "square": 0.04, "jug": 0.08}[style]
    glass = solid("glass", jitter(rng, choice(rng, GLASSES), 0.04))
    top = body + shoulder + neck
    profile = [(0.0, 0.0), (r * 0.95, 0.0), (r, 0.01), (r, body)]
    for f in np.linspace(0.25, 1.0, 4):
        profile.append((neck_r + (r - neck_r) * np.cos(f * np.pi / 2), body + shoulder * np.sin(f * np.pi / 2)))
    profile += [(neck_r, top), (neck_r * 1.15, top + 0.003), (neck_r * 0.8, top + 0.006)]
    a.add_lathe(profile, glass, sections=4 if style == "square" else 24)
    cap = solid("cap", jitter(rng, choice(rng, ((0.1, 0.3, 0.8), (0.9, 0.9, 0.9), (0.8, 0.1, 0.1), (0.75, 0.6, 0.3)))))
    a.add(rod((0, top - 0.012, 0), (0, top + 0.012, 0), neck_r * 1.25, sections=16), cap)  # cap or foil capsule
    if style != "square" and rng.uniform() < 0.7:
        label = Texture(
            "label",
            jitter(rng, choice(rng, ((0.95, 0.93, 0.85), (0.85, 0.1, 0.1), (0.1, 0.2, 0.5)))),
            jitter(rng, choice(rng, ((0.8, 0.65, 0.2), (0.1, 0.1, 0.1), (0.95, 0.95, 0.95)))),
            seed=texture_seed(rng),
        )
        lo, hi = body * rng.uniform(0.2, 0.35), body * rng.uniform(0.7, 0.9)
        a.add_lathe([(r * 1.01, lo), (r * 1.01, hi)], textured("label", label))
    if style == "jug":
        handle = [
            (r * 0.6, body + shoulder * 0.8, 0),
            (r * 1.35, body * 0.95, 0),
            (r * 1.25, body * 0.6, 0),
            (r * 0.95, body * 0.5, 0),
        ]
        a.add(tube(handle, r * 0.12, sections=8), glass)
    return a


def bowl(rng: np.random.Generator) -> Assembly:
    a = Assembly()
    radius, depth = rng.uniform(0.07, 0.14), rng.uniform(0.35, 0.7)
    height = radius * depth
    foot = rng.uniform(0.35, 0.5) * radius
    power = rng.uniform(1.5, 3.0)
    outer = [(0.0, 0.0), (foot, 0.0), (foot, height * 0.06)]
    for f in np.linspace(0.1, 1.0, 9):
        outer.append((foot + (radius - foot) * f ** (1 / power), height * 0.06 + height * 0.94 * f))
    color = jitter(rng, choice(rng, CERAMICS))
    pick = rng.uniform()
    if pick < 0.25:
        mat = textured(
            "glaze", Texture("stripes", color, jitter(rng, choice(rng, CERAMICS)), seed=texture_seed(rng))
        )
    elif pick < 0.4:
        mat = textured(
            "wood", Texture("wood", (0.62, 0.42, 0.22), (0.4, 0.25, 0.12), seed=texture_seed(rng))
        )
    else:
        mat = solid("glaze", color)
    inside = solid("inside", _lighter(color) if rng.uniform() < 0.5 else (0.96, 0.95, 0.92))
    _vessel(a, outer, radius * 0.05, height * 0.1, mat, inside, sections=32)
    return a


def mug(rng: np.random.Generator) -> Assembly:
    a = Assembly()
    r, h = rng.uniform(0.035, 0.05), rng.uniform(0.08, 0.12)
    flare = rng.uniform(1.0, 1.2)
    outer = [(0.0, 0.0), (r, 0.0)] + [(r * (1 + (flare - 1) * f), h * f) for f in np.linspace(0.2, 1.0, 5)]
    color = jitter(rng, choice(rng, CERAMICS))
    if rng.uniform() < 0.35:
        body = textured(
            "glaze",
            Texture(
                choice(rng, ("stripes", "checker")),
                color,
                jitter(rng, choice(rng, CERAMICS)),
                seed=texture_seed(rng),
            ),
        )
    else:
        body = solid("glaze", color)
    _vessel(a, outer, r * 0.08, h * 0.08, body, solid("inside", _lighter(color, 0.2)))
    handle_mat = body if rng.uniform() < 0.7 else solid("handle", jitter(rng, choice(rng, CERAMICS)))
    hr = h * rng.uniform(0.28, 0.36)
    if rng.uniform() < 0.5:
        path = arc((r * flare**0.5 - hr * 0.15, h * 0.5, 0), hr, -80, 80, plane="xy", steps=12)
    else:
        x0 = r * flare**0.5 - 0.003
        path = np.array(
            [
                (x0, h * 0.8, 0),
                (x0 + hr * 0.9, h * 0.78, 0),
                (x0 + hr, h * 0.55, 0),
                (x0 + hr * 0.7, h * 0.25, 0),
                (x0, h * 0.22, 0),
            ]
        )
    a.add(tube(path, h * rng.uniform(0.05, 0.07), sections=8), handle_mat)
    return a


def can(rng: np.random.Generator) -> Assembly:
    a = Assembly()
    r = rng.uniform(0.03, 0.04)
    h = r * rng.uniform(2.3, 4.0)
    metal = solid("metal", (0.75, 0.76, 0.78))
    a.add_lathe([(0.0, 0.0), (r * 0.85, 0.0), (r, h * 0.08)], metal)
    label = Texture(
        choice(rng, ("label", "stripes")),
        jitter(rng, choice(rng, CERAMICS)),
        jitter(rng, choice(rng, CERAMICS)),
        seed=texture_seed(rng),
    )
    a.add_lathe([(r, h * 0.08), (r, h * 0.9)], textured("label", label))
    a.add_lathe([(r, h * 0.9), (r * 0.88, h), (r * 0.85, h * 0.98), (0.0, h * 0.98)], metal)
    return a


def trash_bin(rng: np.random.Generator) -> Assembly:
    style = choice(rng, ("round", "square", "pedal", "wheelie"))
    a = Assembly()
    color = jitter(rng, choice(rng, ((0.2, 0.2, 0.22), (0.15, 0.4, 0.2), (0.6, 0.62, 0.65), (0.15, 0.3, 0.6))))
    mat = solid("shell", color)
    if style == "wheelie":
        w, d, h = rng.uniform(0.5, 0.6), rng.uniform(0.55, 0.7), rng.uniform(0.95, 1.1)
        a.add(box((w, h - 0.08, d), (0, 0.04 + (h - 0.08) / 2, 0)), mat)
        a.add(box((w + 0.04, 0.04, d + 0.06), (0, h - 0.02, 0.01)), solid("lid", jitter(rng, color)))
        a.add(
            rod((-w / 2 - 0.02, 0.1, d / 2 - 0.05), (w / 2 + 0.02, 0.1, d / 2 - 0.05), 0.1, sections=16),
            solid("wheel", (0.05, 0.05, 0.05)),
        )
        a.add(rod((-w / 2, h - 0.06, d / 2 + 0.05), (w / 2, h - 0.06, d / 2 + 0.05), 0.02, sections=8), mat)
        return a
    r, h = rng.uniform(0.14, 0.22), rng.uniform(0.3, 0.6)
    taper = rng.uniform(0.8, 1.0)
    outer = [(0.0, 0.0), (r * taper, 0.0), (r, h)]
    sections = 4 if style == "square" else 28
    _vessel(a, outer, 0.008, 0.01, mat, solid("inside", tuple(c * 0.6 for c in color)), sections=sections)
    if style == "pedal":
        a.add_lathe([(r * 1.03, h), (r * 0.9, h + 0.04), (0.0, h + 0.05)], solid("lid", (0.7, 0.7, 0.72)), sections=28)
        a.add(box((0.08, 0.02, 0.08), (0, 0.02, -r * taper - 0.04)), solid("pedal", (0.1, 0.1, 0.1)))
    return a


def flowerpot(rng: np.random.Generator) -> Assembly:
    a = Assembly()
    r, h = rng.uniform(0.08, 0.16), rng.uniform(0.1, 0.2)
    outer = [(0.0, 0.0), (r * 0.7, 0.0), (r, h * 0.85), (r * 1.08, h * 0.87), (r * 1.08, h)]
    pot = solid("pot", jitter(rng, choice(rng, ((0.72, 0.38, 0.22), (0.9, 0.9, 0.88), (0.3, 0.3, 0.32)))))
    _vessel(a, outer, 0.008, 0.015, pot)
    a.add(rod((0, h * 0.75, 0), (0, h * 0.8, 0), r * 0.98, sections=24), solid("soil", (0.25, 0.16, 0.1)))
    leaf = solid("leaves", jitter(rng, (0.2, 0.5, 0.18)))
    plant = choice(rng, ("bush", "stems", "cactus"))
    if plant == "bush":
        for _ in range(int(rng.integers(4, 8))):
            ang = rng.uniform(0, 2 * np.pi)
            off = rng.uniform(0, r * 0.6)
            a.add(
                ball(
                    r * rng.uniform(0.45, 0.7),
                    (off * np.cos(ang), h + r * rng.uniform(0.3, 0.9), off * np.sin(ang)),
                    subdivisions=1,
                ),
                leaf,
            )
    elif plant == "stems":
        for _ in range(int(rng.integers(3, 7))):
            ang = rng.uniform(0, 2 * np.pi)
            tip = (r * 1.2 * np.cos(ang), h + rng.uniform(0.15, 0.35), r * 1.2 * np.sin(ang))
            a.add(
                tube([(0, h * 0.78, 0), (tip[0] * 0.4, (h + tip[1]) / 2, tip[2] * 0.4), tip], 0.006, sections=5), leaf
            )
            a.add(
                ball(0.03, tip, subdivisions=1),
                solid("flower", jitter(rng, choice(rng, ((0.9, 0.2, 0.3), (0.95, 0.85, 0.2), (0.6, 0.3, 0.8))))),
            )
    else:
        a.add(rod((0, h * 0.78, 0), (0, h + rng.uniform(0.1, 0.25), 0), r * 0.45, sections=10), leaf)
    return a


def lamp(rng: np.random.Generator) -> Assembly:
    style = choice(rng, ("floor", "arc", "desk", "table", "table"))
    a = Assembly()
    metal = solid("metal", jitter(rng, choice(rng, METALS)))
    shade_color = jitter(rng, choice(rng, ((0.96, 0.93, 0.82), (0.9, 0.9, 0.9), (0.75, 0.2, 0.15), (0.2, 0.35, 0.3))))
    shade = solid("shade", shade_color)
    if rng.uniform() < 0.3:
        shade = textured(
            "shade",
            Texture("fabric", shade_color, tuple(c * 0.85 for c in shade_color), seed=texture_seed(rng)),
        )
    {"floor": _floor_lamp, "arc": _arc_lamp, "desk": _desk_lamp, "table": _table_lamp}[style](rng, a, metal, shade)
    return a


def _floor_lamp(rng: np.random.Generator, a: Assembly, metal: Material, shade: Material) -> None:
    """Pole on a disc with a (single-sided) conical or drum shade on top."""
    h = rng.uniform(1.4, 1.8)
    a.add_lathe([(0.0, 0.0), (rng.uniform(0.14, 0.2), 0.0), (0.1, 0.03), (0.0, 0.03)], metal)
    a.add(rod((0, 0.03, 0), (0, h, 0), 0.015, sections=10), metal)
    sr = rng.uniform(0.18, 0.26)
    a.add_lathe([(sr, h - 0.15), (sr * rng.uniform(0.5, 0.85), h + 0.12)], shade)


def _arc_lamp(rng: np.random.Generator, a: Assembly, metal: Material, shade: Material) -> None:
    """A heavy base, a pole bending forward and a dome hanging from its end."""
    h, reach = rng.uniform(1.5, 1.9), rng.uniform(0.8, 1.3)
    a.add(box((0.3, 0.08, 0.3), (0, 0.04, 0)), solid("base", jitter(rng, (0.85, 0.85, 0.83))))
    bend = arc((0.0, h - reach / 2, -reach / 2), reach / 2, 0.0, 90.0, plane="zy", steps=10)[::-1]
    path = np.concatenate([[(0.0, 0.08, 0.0)], bend])
    a.add(tube(path, 0.015, sections=8), metal)
    end = path[-1]
    dome = [(0.0, 0.0)] + [(0.22 * np.sin(t), -0.16 * (1 - np.cos(t))) for t in np.linspace(0.3, np.pi / 2, 6)]
    mesh, uv = lathe(dome, sections=24)
    mesh = translated(mesh, (end[0], end[1] - 0.02, end[2]))
    a.add(mesh, shade, uv)


def _table_lamp(rng: np.random.Generator, a: Assembly, metal: Material, shade: Material) -> None:
    """A turned body (vase, ball or column) under a drum/cone shade or a glass globe."""
    h, body = rng.uniform(0.25, 0.4), rng.uniform(0.06, 0.1)
    shape = choice(rng, ("vase", "ball", "column"))
    if shape == "vase":
        prof = [(0.0, 0.0), (body * 0.6, 0.0), (body, h * 0.35), (body * 0.35, h * 0.85), (0.015, h), (0.0, h)]
    elif shape == "ball":
        prof = (
            [(0.0, 0.0)]
            + [(body * np.sin(t), h * 0.5 * (1 - np.cos(t))) for t in np.linspace(0.3, np.pi - 0.3, 8)]
            + [(0.015, h), (0.0, h)]
        )
    else:
        prof = [(0.0, 0.0), (body, 0.0), (body, 0.03), (body * 0.4, 0.05), (body * 0.4, h), (0.0, h)]
    a.add_lathe(
        prof,
        solid(
            "body", jitter(rng, choice(rng, ((0.9, 0.9, 0.88), (0.2, 0.3, 0.55), (0.75, 0.6, 0.3), (0.15, 0.15, 0.15))))
        ),
    )
    if rng.uniform() < 0.25:
        a.add(ball(rng.uniform(0.1, 0.15), (0, h + 0.1, 0), subdivisions=2), solid("globe", (0.97, 0.96, 0.9)))
        return
    sr = rng.uniform(0.12, 0.2)
    a.add_lathe([(sr, h), (sr * rng.uniform(0.6, 1.0), h + rng.uniform(0.15, 0.25))], shade)


def _desk_lamp(rng: np.random.Generator, a: Assembly, metal: Material, shade: Material) -> None:
    """Disc base, a bent arm with a joint, and a cone head pointing down and forward."""
    a.add_lathe([(0.0, 0.0), (rng.uniform(0.08, 0.12), 0.0), (0.08, 0.025), (0.0, 0.025)], metal)
    up, reach = rng.uniform(0.3, 0.45), rng.uniform(0.2, 0.35)
    elbow = (0.0, up, rng.uniform(0.0, 0.12))
    head = (0.0, up + rng.uniform(-0.05, 0.1), elbow[2] - reach)
    a.add(tube([(0.0, 0.02, 0.0), elbow, head], 0.012, sections=8, caps=True), metal)
    a.add(ball(0.025, elbow, subdivisions=1), metal)
    cone, _ = lathe([(0.02, 0.0), (rng.uniform(0.06, 0.09), -rng.uniform(0.08, 0.13))], sections=20)
    cone = translated(cone, head)
    head_color = choice(rng, ((0.75, 0.1, 0.1), (0.1, 0.1, 0.1), (0.9, 0.9, 0.88), (0.2, 0.4, 0.3)))
    a.add(cone, shade if rng.uniform() < 0.5 else solid("head", jitter(rng, head_color)))


def display(rng: np.random.Generator) -> Assembly:
    a = Assembly()
    width = rng.uniform(0.45, 0.75)
    aspect = choice(rng, (9 / 16, 10 / 16, 3 / 4))
    height, frame_t = width * aspect, rng.uniform(0.015, 0.03)
    lift = rng.uniform(0.08, 0.18)
    body = solid("bezel", jitter(rng, choice(rng, ((0.08, 0.08, 0.09), (0.85, 0.85, 0.87), (0.5, 0.5, 0.52)))))
    a.add(box((width, height, rng.uniform(0.02, 0.05)), (0, lift + height / 2, 0)), body)
    a.add(
        box((width - 2 * frame_t, height - 2 * frame_t, 0.004), (0, lift + height / 2, -0.026)),
        solid("screen", (0.03, 0.05, 0.1)),
    )
    if rng.uniform() < 0.5:
        a.add(box((0.05, lift + height * 0.3, 0.03), (0, (lift + height * 0.3) / 2, 0.04)), body)
        a.add(box((width * rng.uniform(0.3, 0.5), 0.015, 0.2), (0, 0.0075, 0.02)), body)
    else:
        a.add(rod((0, 0.0, 0.03), (0, lift + height * 0.3, 0.03), 0.02, sections=10), body)
        a.add_lathe([(0.0, 0.0), (rng.uniform(0.1, 0.14), 0.0), (0.1, 0.015), (0.0, 0.015)], body)
    return a


def laptop(rng: np.random.Generator) -> Assembly:
    a = Assembly()
    w, d, t = rng.uniform(0.3, 0.4), rng.uniform(0.21, 0.27), rng.uniform(0.012, 0.025)
    case = solid("case", jitter(rng, choice(rng, ((0.75, 0.76, 0.78), (0.12, 0.12, 0.13), (0.55, 0.56, 0.6)))))
    a.add(box((w, t, d), (0, t / 2, 0)), case)
    a.add(box((w * 0.85, 0.002, d * 0.4), (0, t + 0.001, -d * 0.05)), solid("keys", (0.05, 0.05, 0.05)))
    a.add(box((w * 0.3, 0.002, d * 0.2), (0, t + 0.001, -d * 0.36)), solid("touchpad", jitter(rng, case.kd, 0.05)))
    lid = box((w, d, t * 0.6), (0, d / 2, 0))
    screen = box((w * 0.9, d * 0.85, 0.002), (0, d / 2, -t * 0.3 - 0.001))
    hinge = np.eye(4)
    hinge[1, 3], hinge[2, 3] = t, d / 2
    pose = compose(hinge, _tilt(np.radians(rng.uniform(5.0, 40.0))))
    for mesh, mat in ((lid, case), (screen, solid("screen", (0.05, 0.08, 0.15)))):
        a.add(transformed(mesh, pose), mat)
    return a


def _tilt(angle: float) -> np.ndarray:
    """Rotation about x by ``angle`` (lids, screens), positive tipping +y towards +z."""
    c, s = np.cos(angle), np.sin(angle)
    return np.array([[1, 0, 0, 0], [0, c, -s, 0], [0, s, c, 0], [0, 0, 0, 1.0]])

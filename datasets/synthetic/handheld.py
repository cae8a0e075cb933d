"""Small-object generators: guitar, rifle, pistol, knife, cellphone, telephone, remote,
keyboard, camera, clock, microphone, earphone. Metres, y up, front towards -z: guns and knives
are drawn along +x and turned so the muzzle or tip points to -z; guitars stand neck up with the
strings facing -z."""

from __future__ import annotations

import numpy as np

from clip2point.datasets.synthetic.assembly import Assembly, choice
from clip2point.datasets.synthetic.furniture import wood
from clip2point.datasets.synthetic.geometry import arc, extrude, lathe, place, tube
from clip2point.datasets.synthetic.materials import Texture, jitter, solid, texture_seed, textured
from clip2point.datasets.synthetic.primitives import ball, box, compose, rod, rotation, translated

BLACK = (0.04, 0.04, 0.05)
TIP_TO_MINUS_Z = rotation(np.pi / 2, (0.0, 1.0, 0.0))  # +x -> -z
NECK_UP_STRINGS_FRONT = compose(rotation(np.pi, (0.0, 1.0, 0.0)), rotation(np.pi / 2, (0.0, 0.0, 1.0)))
PLASTICS = ((0.08, 0.08, 0.09), (0.9, 0.9, 0.9), (0.55, 0.56, 0.6), (0.15, 0.25, 0.5), (0.7, 0.15, 0.12))


def _ellipse(
    cx: float, cy: float, rx: float, ry: float, start: float, end: float, steps: int
) -> list[tuple[float, float]]:
    t = np.radians(np.linspace(start, end, steps))
    return [(cx + rx * np.cos(a), cy + ry * np.sin(a)) for a in t]


def guitar(rng: np.random.Generator) -> Assembly:
    """Figure-eight body (two lobes) in the x-y plane, thin along z, neck along +x."""
    a = Assembly()
    lower, upper = rng.uniform(0.17, 0.21), rng.uniform(0.12, 0.16)
    waist = upper * rng.uniform(0.7, 0.85)
    gap = lower + upper * 0.7
    electric = rng.uniform() < 0.35
    outline = _ellipse(0.0, 0.0, lower, lower, 100, 260, 12)
    outline += [(lower * 0.6, -waist)]
    outline += _ellipse(gap, 0.0, upper, upper, 235, 485, 14)
    outline += [(lower * 0.6, waist)]
    depth = 0.04 if electric else rng.uniform(0.08, 0.11)
    top_color = jitter(rng, choice(rng, ((0.85, 0.6, 0.3), (0.55, 0.25, 0.1), (0.1, 0.1, 0.1), (0.7, 0.1, 0.1))))
    if electric or rng.uniform() < 0.5:
        body = solid("body", top_color)
    else:
        body = textured(
            "body", Texture("wood", top_color, tuple(c * 0.7 for c in top_color), seed=texture_seed(rng))
        )
    a.add(extrude(outline, depth, axes="xyz"), body)
    neck_len = rng.uniform(0.45, 0.55)
    x0 = gap + upper * 0.8
    neck = solid("neck", jitter(rng, (0.45, 0.28, 0.15)))
    a.add(box((neck_len, 0.05, 0.025), (x0 + neck_len / 2, 0, depth / 2 - 0.005)), neck)
    a.add(box((0.18, 0.08, 0.02), (x0 + neck_len + 0.09, 0, depth / 2 - 0.01)), neck)
    if not electric:
        a.add(
            rod((gap * 0.55, 0, depth / 2), (gap * 0.55, 0, depth / 2 + 0.002), upper * 0.4, sections=20),
            solid("soundhole", BLACK),
        )
    else:
        a.add(box((0.05, 0.09, 0.006), (gap * 0.35, 0, depth / 2 + 0.003)), solid("pickups", (0.9, 0.9, 0.9)))
    a.add(box((0.03, 0.1, 0.01), (-lower * 0.45, 0, depth / 2 + 0.005)), solid("bridge", BLACK))
    a.add(
        box((neck_len + gap, 0.03, 0.002), ((x0 + neck_len - lower * 0.45) / 2, 0, depth / 2 + 0.012)),
        solid("strings", (0.85, 0.85, 0.8)),
    )
    return a.transformed(NECK_UP_STRINGS_FRONT)


def rifle(rng: np.random.Generator) -> Assembly:
    a = Assembly()
    stock = wood(rng, "stock") if rng.uniform() < 0.6 else solid("stock", jitter(rng, (0.12, 0.12, 0.12)))
    metal = solid("metal", jitter(rng, (0.2, 0.2, 0.22), 0.03))
    length = rng.uniform(0.9, 1.2)
    outline = [
        (0.0, -0.1),
        (0.05, -0.1),
        (0.3, -0.02),
        (0.34, -0.09),
        (0.38, -0.09),
        (0.4, 0.0),
        (0.75, 0.0),
        (0.75, 0.04),
        (0.3, 0.04),
        (0.0, 0.01),
    ]
    a.add(extrude([(x * length, y) for x, y in outline], 0.04, axes="xyz"), stock)
    barrel_end = length * rng.uniform(1.1, 1.3)
    a.add(rod((length * 0.7, 0.025, 0), (barrel_end, 0.025, 0), 0.012, sections=10), metal)
    a.add(box((length * 0.3, 0.05, 0.035), (length * 0.55, 0.05, 0)), metal)
    if rng.uniform() < 0.6:
        a.add(rod((length * 0.45, 0.11, 0), (length * 0.7, 0.11, 0), 0.02, sections=12), solid("scope", BLACK))
        a.add(box((0.02, 0.04, 0.015), (length * 0.55, 0.085, 0)), metal)
    if rng.uniform() < 0.5:
        a.add(box((0.04, 0.12, 0.02), (length * 0.5, -0.06, 0)), metal)  # magazine
    return a.transformed(TIP_TO_MINUS_Z)


def pistol(rng: np.random.Generator) -> Assembly:
    a = Assembly()
    slide_len, grip_h = rng.uniform(0.16, 0.22), rng.uniform(0.1, 0.13)
    rake = rng.uniform(0.02, 0.05)
    body = solid("frame", jitter(rng, choice(rng, ((0.1, 0.1, 0.11), (0.55, 0.56, 0.58), (0.35, 0.3, 0.2)))))
    grip = solid("grip", jitter(rng, choice(rng, ((0.08, 0.08, 0.08), (0.4, 0.25, 0.12)))))
    a.add(box((slide_len, 0.032, 0.028), (slide_len / 2, 0.0, 0)), body)
    a.add(
        extrude(
            [(0.0, -0.016), (0.04, -0.016), (0.04 - rake, -0.016 - grip_h), (-rake - 0.005, -0.016 - grip_h)],
            0.03,
            axes="xyz",
        ),
        grip,
    )
    a.add(tube([(0.045, -0.016, 0), (0.05, -0.045, 0), (0.09, -0.045, 0), (0.09, -0.016, 0)], 0.003, sections=6), body)
    if rng.uniform() < 0.4:
        a.add(
            rod((slide_len, 0.0, 0), (slide_len + rng.uniform(0.04, 0.1), 0.0, 0), 0.012, sections=12),
            solid("silencer", BLACK),
        )
    return a.transformed(TIP_TO_MINUS_Z)


def knife(rng: np.random.Generator) -> Assembly:
    a = Assembly()
    blade_len, handle_len = rng.uniform(0.12, 0.25), rng.uniform(0.09, 0.13)
    width = rng.uniform(0.02, 0.045)
    style = choice(rng, ("chef", "dagger", "cleaver"))
    if style == "chef":
        outline = [(0, 0), (blade_len * 0.7, 0), (blade_len, width), (0, width)]
    elif style == "dagger":
        outline = [
            (0, 0),
            (blade_len * 0.8, width * 0.2),
            (blade_len, width * 0.5),
            (blade_len * 0.8, width * 0.8),
            (0, width),
        ]
    else:
        width *= 2.0
        outline = [(0, 0), (blade_len, -0.005), (blade_len, width), (0, width)]
    a.add(extrude(outline, 0.003, axes="xyz"), solid("blade", jitter(rng, (0.82, 0.83, 0.86), 0.03)))
    handle = wood(rng, "handle") if rng.uniform() < 0.5 else solid("handle", jitter(rng, choice(rng, PLASTICS)))
    a.add(box((handle_len, min(width, 0.03) * 0.9 + 0.005, 0.018), (-handle_len / 2, width / 2, 0)), handle)
    if style == "dagger":
        a.add(box((0.012, width * 2.2, 0.02), (0.0, width / 2, 0)), solid("guard", (0.6, 0.5, 0.3)))
    return a.transformed(TIP_TO_MINUS_Z)


def _slab_device(rng: np.random.Generator, a: Assembly, w: float, h: float, t: float, screen_frac: float) -> None:
    """A handheld slab lying along y (upright), screen towards -z."""
    case = solid("case", jitter(rng, choice(rng, PLASTICS)))
    a.add(box((w, h, t), (0, h / 2, 0)), case)
    a.add(
        box((w * 0.9, h * screen_frac, 0.001), (0, h * (0.5 + (1 - screen_frac) * 0.1), -t / 2 - 0.0005)),
        solid("screen", (0.04, 0.06, 0.12)),
    )


def cellphone(rng: np.random.Generator) -> Assembly:
    a = Assembly()
    w, h = rng.uniform(0.06, 0.08), rng.uniform(0.12, 0.16)
    _slab_device(rng, a, w, h, rng.uniform(0.007, 0.012), rng.uniform(0.8, 0.9))
    a.add(rod((-w * 0.3, h * 0.9, 0.005), (-w * 0.3, h * 0.9, 0.008), 0.006, sections=12), solid("camera", BLACK))
    return a


def telephone(rng: np.random.Generator) -> Assembly:
    """Smartphones with buttons, or a desk phone with a handset (ShapeNet's class holds both)."""
    a = Assembly()
    if rng.uniform() < 0.6:
        w, h = rng.uniform(0.055, 0.075), rng.uniform(0.11, 0.15)
        _slab_device(rng, a, w, h, rng.uniform(0.008, 0.014), rng.uniform(0.55, 0.85))
        a.add(box((w * 0.25, 0.006, 0.002), (0, h * 0.06, -0.008)), solid("button", (0.6, 0.6, 0.6)))
        return a
    w, d = rng.uniform(0.18, 0.24), rng.uniform(0.18, 0.24)
    case = solid("case", jitter(rng, choice(rng, PLASTICS)))
    a.add(extrude([(-d / 2, 0), (d / 2, 0), (d / 2, 0.07), (-d / 2, 0.04)], w, axes="zyx"), case)
    keys = solid("keys", (0.85, 0.85, 0.85))
    for i in range(3):
        for j in range(4):
            a.add(box((0.02, 0.006, 0.015), (-0.03 + i * 0.03, 0.045 + j * 0.006, -0.06 + j * 0.025)), keys)
    handset = tube(
        [(-w * 0.45, 0.09, d * 0.2), (-w * 0.3, 0.08, d * 0.2), (w * 0.3, 0.08, d * 0.2), (w * 0.45, 0.09, d * 0.2)],
        0.018,
        sections=10,
    )
    a.add(handset, solid("handset", jitter(rng, case.kd, 0.05)))
    return a


def remote(rng: np.random.Generator) -> Assembly:
    a = Assembly()
    w, length, t = rng.uniform(0.04, 0.06), rng.uniform(0.14, 0.22), rng.uniform(0.015, 0.025)
    a.add(box((w, t, length), (0, t / 2, 0)), solid("case", jitter(rng, choice(rng, PLASTICS[:3]))))
    buttons = solid("buttons", jitter(rng, (0.75, 0.75, 0.78)))
    for row in range(int(rng.integers(4, 8))):
        for col in (-1, 0, 1):
            a.add(box((0.008, 0.004, 0.006), (col * w * 0.28, t + 0.002, -length * 0.1 + row * 0.016)), buttons)
    a.add(
        rod((0, t, -length * 0.35), (0, t + 0.004, -length * 0.35), 0.006, sections=12), solid("power", (0.8, 0.1, 0.1))
    )
    return a


def keyboard(rng: np.random.Generator) -> Assembly:
    """A key grid with a space bar row, sometimes a number pad, on a flat case."""
    a = Assembly()
    cols, rows = int(rng.integers(12, 16)), int(rng.integers(4, 6))
    pitch, margin = rng.uniform(0.017, 0.02), rng.uniform(0.008, 0.03)
    numpad = 4 if rng.uniform() < 0.4 else 0
    gap = pitch * 0.6 if numpad else 0.0
    w, d = (cols + numpad) * pitch + gap + 2 * margin, (rows + 1) * pitch + 2 * margin
    case = solid("case", jitter(rng, choice(rng, PLASTICS[:3])))
    a.add(box((w, 0.02, d), (0, 0.01, 0)), case)
    keys = solid("keys", jitter(rng, choice(rng, ((0.1, 0.1, 0.1), (0.92, 0.92, 0.9)))))
    x0, z0 = -w / 2 + margin, -d / 2 + margin
    for r in range(1, rows + 1):
        for c in range(cols + numpad):
            x = x0 + (c + 0.5) * pitch + (gap if c >= cols else 0.0)
            a.add(box((pitch * 0.85, 0.01, pitch * 0.85), (x, 0.025, z0 + (r + 0.5) * pitch)), keys)
    a.add(box((pitch * 6, 0.01, pitch * 0.85), (x0 + cols * pitch / 2, 0.025, z0 + 0.5 * pitch)), keys)
    return a


def camera(rng: np.random.Generator) -> Assembly:
    a = Assembly()
    w, h, d = rng.uniform(0.11, 0.15), rng.uniform(0.07, 0.1), rng.uniform(0.04, 0.07)
    body = solid("body", jitter(rng, choice(rng, ((0.08, 0.08, 0.09), (0.75, 0.75, 0.77)))))
    a.add(box((w, h, d), (0, h / 2, 0)), body)
    lens_len = rng.uniform(0.03, 0.1)
    lr = h * rng.uniform(0.3, 0.4)
    a.add(rod((0, h * 0.45, -d / 2), (0, h * 0.45, -d / 2 - lens_len), lr, sections=20), solid("lens", (0.1, 0.1, 0.1)))
    a.add(
        rod((0, h * 0.45, -d / 2 - lens_len), (0, h * 0.45, -d / 2 - lens_len - 0.002), lr * 0.8, sections=20),
        solid("glass", (0.2, 0.3, 0.45)),
    )
    a.add(box((w * 0.3, h * 0.2, d * 0.6), (-w * 0.2, h + h * 0.1, 0)), body)
    a.add(rod((w * 0.3, h, 0), (w * 0.3, h + 0.008, 0), 0.008, sections=10), solid("shutter", (0.6, 0.6, 0.6)))
    return a


def clock(rng: np.random.Generator) -> Assembly:
    a = Assembly()
    r = rng.uniform(0.12, 0.22)
    style = choice(rng, ("wall", "desk", "grandfather"))
    rim = solid(
        "rim", jitter(rng, choice(rng, ((0.1, 0.1, 0.1), (0.75, 0.6, 0.3), (0.85, 0.85, 0.87), (0.4, 0.22, 0.1))))
    )
    y0 = 0.0
    if style == "desk":
        y0 = r * rng.uniform(1.05, 1.3)
        a.add(box((r * rng.uniform(1.2, 2.0), 0.03, r * rng.uniform(0.6, 1.2)), (0, 0.015, 0)), rim)
        a.add(box((r * 0.3, y0 - r, 0.03), (0, 0.03 + (y0 - r) / 2, 0)), rim)
    elif style == "grandfather":
        body = wood(rng, "case")
        a.add(box((r * 2.4, 1.6, r * 1.4), (0, 0.8, r * 0.2)), body)
        a.add(box((r * 1.2, 0.9, 0.01), (0, 0.6, -r * 0.5 - 0.005)), solid("window", (0.1, 0.1, 0.12)))
        y0 = 1.6 + r * 1.1
        a.add(box((r * 2.4, r * 2.4, r * 1.4), (0, y0, r * 0.2)), body)
    thick = rng.uniform(0.02, 0.07)
    disc, _ = lathe([(0.0, 0.0), (r, 0.0), (r, thick), (0.0, thick)], sections=choice(rng, (36, 36, 8, 4)))
    disc = place(disc, "xzy")
    disc = translated(disc, (0, y0, -r * 0.5 if style == "grandfather" else 0.0))
    a.add(disc, rim)
    zf = (-r * 0.5 if style == "grandfather" else 0.0) - 0.001
    a.add(rod((0, y0, zf), (0, y0, zf - 0.001), r * 0.9, sections=36), solid("face", (0.97, 0.96, 0.92)))
    ticks = solid("hands", BLACK)
    for k in range(12):
        ang = 2 * np.pi * k / 12
        a.add(box((0.006, r * 0.12, 0.002), (r * 0.78 * np.sin(ang), y0 + r * 0.78 * np.cos(ang), zf - 0.002)), ticks)
    hour, minute = rng.uniform(0, 2 * np.pi), rng.uniform(0, 2 * np.pi)
    for ang, length, width in ((hour, 0.45, 0.012), (minute, 0.7, 0.008)):
        a.add(
            tube(
                [(0, y0, zf - 0.004), (r * length * np.sin(ang), y0 + r * length * np.cos(ang), zf - 0.004)],
                width,
                sections=4,
            ),
            ticks,
        )
    return a


def microphone(rng: np.random.Generator) -> Assembly:
    a = Assembly()
    metal = solid("metal", jitter(rng, (0.15, 0.15, 0.16), 0.03))
    grille = solid("grille", jitter(rng, (0.6, 0.6, 0.62), 0.05))
    if rng.uniform() < 0.5:  # handheld mic lying on its side
        length = rng.uniform(0.15, 0.2)
        body, _ = lathe([(0.0, 0.0), (0.012, 0.0), (0.02, length), (0.0, length)], sections=16)
        a.add(place(body, "yxz"), metal)
        a.add(ball(0.028, (length + 0.02, 0, 0)), grille)
        return a
    h = rng.uniform(0.25, 0.4)
    a.add(rod((0, 0, 0), (0, 0.02, 0), rng.uniform(0.07, 0.1), sections=20), metal)
    a.add(rod((0, 0.02, 0), (0, h, 0), 0.008, sections=8), metal)
    cap, _ = lathe(
        [(0.0, 0.0)] + [(0.03 * np.sin(t), 0.05 * (1 - np.cos(t))) for t in np.linspace(0.4, np.pi, 8)], sections=18
    )
    cap = translated(cap, (0, h, 0))
    a.add(cap, grille)
    return a


def earphone(rng: np.random.Generator) -> Assembly:
    """Over-ear headphones: a headband arc over two cups."""
    a = Assembly()
    span, r = rng.uniform(0.15, 0.19), rng.uniform(0.04, 0.055)
    band = solid("band", jitter(rng, choice(rng, PLASTICS)))
    cups = solid("cups", jitter(rng, choice(rng, PLASTICS)))
    path = arc((0, r * 1.2, 0), span / 2, 0, 180, plane="xy", steps=16)
    a.add(tube(path, 0.008, sections=8), band)
    for sx in (-1, 1):
        x = sx * span / 2
        cup, _ = lathe([(0.0, 0.0), (r, 0.0), (r * 1.05, 0.02), (r * 0.8, 0.04), (0.0, 0.04)], sections=20)
        cup = place(cup, "yxz")
        cup = translated(cup, (x - 0.02, 0, 0))
        a.add(cup, cups)
        a.add(rod((x, 0, 0), (x, r * 1.2, 0), 0.006, sections=6), band)
    return a

"""Containers, wearables and fixtures: jar, pillow, basket, bag, helmet, cap, faucet, tower.
Metres, y up, front towards -z."""

from __future__ import annotations

import numpy as np
import trimesh

from clip2point.datasets.synthetic.assembly import Assembly, choice
from clip2point.datasets.synthetic.geometry import arc, extrude, lathe, tube
from clip2point.datasets.synthetic.materials import Texture, jitter, solid, texture_seed, textured
from clip2point.datasets.synthetic.primitives import as_mesh, ball, box, rod, scaled, subdivide, translated

FABRIC_COLORS = ((0.85, 0.82, 0.75), (0.3, 0.4, 0.6), (0.6, 0.2, 0.2), (0.35, 0.5, 0.35), (0.9, 0.75, 0.35))


def jar(rng: np.random.Generator) -> Assembly:
    a = Assembly()
    r, h = rng.uniform(0.05, 0.1), rng.uniform(0.1, 0.25)
    belly = rng.uniform(1.0, 1.3)
    neck = r * rng.uniform(0.7, 0.9)
    glass = solid(
        "glass", jitter(rng, choice(rng, ((0.75, 0.85, 0.9), (0.55, 0.35, 0.2), (0.9, 0.9, 0.88), (0.25, 0.4, 0.6))))
    )
    prof = [(0.0, 0.0), (r * 0.9, 0.0)] + [
        (r * (1 + (belly - 1) * np.sin(np.pi * f)), h * 0.85 * f) for f in np.linspace(0.1, 1.0, 6)
    ]
    prof += [(neck, h * 0.9), (neck, h)]
    a.add_lathe(prof, glass)
    lid = solid("lid", jitter(rng, choice(rng, ((0.75, 0.6, 0.3), (0.9, 0.9, 0.9), (0.1, 0.1, 0.1), (0.7, 0.1, 0.1)))))
    labelled = rng.uniform() < 0.5
    if not labelled or rng.uniform() < 0.6:
        a.add_lathe([(neck * 1.08, h - 0.005), (neck * 1.08, h + 0.02), (neck * 0.4, h + 0.025), (0.0, h + 0.025)], lid)
        if rng.uniform() < 0.4:
            a.add(ball(neck * 0.25, (0, h + 0.03, 0), subdivisions=1), lid)
    if labelled:
        label = Texture(
            "label", (0.96, 0.94, 0.86), jitter(rng, choice(rng, FABRIC_COLORS)), seed=texture_seed(rng)
        )
        a.add_lathe([(r * 1.01, h * 0.25), (r * 1.01, h * 0.6)], textured("label", label))
    return a


def pillow(rng: np.random.Generator) -> Assembly:
    """A puffed cushion: a subdivided box whose faces bulge, corners pinched."""
    a = Assembly()
    w, h, t = rng.uniform(0.4, 0.7), rng.uniform(0.3, 0.5), rng.uniform(0.1, 0.18)
    cube = box((2.0, 2.0, 2.0))
    v, faces = cube.vertices, cube.faces
    for _ in range(3):
        v, faces = subdivide(v, faces)
    bulge = (1 - v[:, 0] ** 2 * 0.35) * (1 - v[:, 1] ** 2 * 0.35)
    v = v * np.column_stack([np.ones(len(v)), np.ones(len(v)), bulge])
    v = v / 2 * (w, h, t)
    pillow_mesh = as_mesh(v + (0, h / 2, 0), faces)
    color = jitter(rng, choice(rng, FABRIC_COLORS))
    pick = rng.uniform()
    if pick < 0.4:
        cover = textured(
            "cover",
            Texture(
                choice(rng, ("fabric", "stripes", "checker")),
                color,
                tuple(min(1.0, c * 1.3 + 0.1) for c in color),
                seed=texture_seed(rng),
            ),
        )
    else:
        cover = solid("cover", color)
    a.add(pillow_mesh, cover)
    if rng.uniform() < 0.5:
        a.add(
            rod((0, h / 2, -t / 2 - 0.002), (0, h / 2, -t / 2 - 0.006), 0.03, sections=12),
            solid("button", jitter(rng, color, 0.15)),
        )
    else:
        a.add(
            tube(
                [(-w / 2, 0.0, 0), (w / 2, 0.0, 0), (w / 2, h, 0), (-w / 2, h, 0), (-w / 2, 0.0, 0)], 0.008, sections=6
            ),
            solid("piping", jitter(rng, tuple(c * 0.7 for c in color))),
        )
    return a


def basket(rng: np.random.Generator) -> Assembly:
    a = Assembly()
    r, h = rng.uniform(0.12, 0.22), rng.uniform(0.1, 0.25)
    square = rng.uniform() < 0.35
    weave = Texture(
        "fabric", jitter(rng, (0.7, 0.52, 0.3)), jitter(rng, (0.5, 0.35, 0.18)), seed=texture_seed(rng)
    )
    wicker = textured("wicker", weave)
    sections = 4 if square else 24
    outer = [(0.0, 0.0), (r * 0.8, 0.0), (r, h)]
    a.add_lathe(outer + [(r * 0.97, h), (r * 0.77, 0.01), (0.0, 0.01)], wicker, sections)
    rim, _ = lathe([(r, h), (r * 1.03, h + 0.01), (r * 0.97, h + 0.015)], sections=sections)
    a.add(rim, solid("rim", jitter(rng, (0.45, 0.3, 0.15))))
    if rng.uniform() < 0.6:
        span = r * (0.7 if square else 0.95)
        a.add(
            tube(arc((0, h, 0), span, 0, 180, plane="xy", steps=14), 0.008, sections=6),
            solid("handle", jitter(rng, (0.45, 0.3, 0.15))),
        )
    return a


def bag(rng: np.random.Generator) -> Assembly:
    style = choice(rng, ("tote", "backpack", "suitcase"))
    a = Assembly()
    color = jitter(rng, choice(rng, FABRIC_COLORS + ((0.1, 0.1, 0.1), (0.45, 0.28, 0.15))))
    shell = solid("shell", color)
    strap = solid("straps", jitter(rng, tuple(c * 0.6 for c in color)))
    if style == "tote":
        w, h, d = rng.uniform(0.3, 0.45), rng.uniform(0.25, 0.4), rng.uniform(0.1, 0.18)
        a.add(extrude([(-w / 2 * 0.85, 0), (w / 2 * 0.85, 0), (w / 2, h), (-w / 2, h)], d, axes="xyz"), shell)
        for z in (-d / 2, d / 2):
            a.add(tube(arc((0, h, z), w * 0.22, 0, 180, plane="xy", steps=10), 0.008, sections=6), strap)
    elif style == "backpack":
        w, h, d = rng.uniform(0.28, 0.35), rng.uniform(0.4, 0.5), rng.uniform(0.15, 0.22)
        a.add(box((w, h * 0.85, d), (0, h * 0.425, 0)), shell)
        top, _ = lathe(
            [(0.0, 0.0), (1.0, 0.0)] + [(np.cos(t), np.sin(t) * 0.8) for t in np.linspace(0.3, np.pi / 2, 5)],
            sections=16,
        )
        top = translated(scaled(top, (w / 2, h * 0.15, d / 2)), (0, h * 0.85, 0))
        a.add(top, shell)
        a.add(box((w * 0.8, h * 0.35, 0.06), (0, h * 0.3, -d / 2 - 0.03)), solid("pocket", jitter(rng, color, 0.08)))
        for sx in (-1, 1):
            a.add(
                tube(
                    [
                        (sx * w * 0.25, h * 0.85, d / 2),
                        (sx * w * 0.3, h * 0.5, d / 2 + 0.06),
                        (sx * w * 0.3, h * 0.08, d / 2),
                    ],
                    0.02,
                    sections=6,
                ),
                strap,
            )
    else:
        w, h, d = rng.uniform(0.4, 0.5), rng.uniform(0.55, 0.75), rng.uniform(0.2, 0.28)
        a.add(box((w, h, d), (0, h / 2 + 0.04, 0)), shell)
        for x in (-w * 0.3, w * 0.3):
            a.add(rod((x, h + 0.04, 0), (x, h + 0.3, 0), 0.01, sections=6), strap)
        a.add(rod((-w * 0.32, h + 0.3, 0), (w * 0.32, h + 0.3, 0), 0.015, sections=8), strap)
        for x in (-w / 2 + 0.04, w / 2 - 0.04):
            a.add(
                rod((x - 0.01, 0.03, d / 2 - 0.03), (x + 0.01, 0.03, d / 2 - 0.03), 0.03, sections=10),
                solid("wheels", (0.05, 0.05, 0.05)),
            )
    return a


def helmet(rng: np.random.Generator) -> Assembly:
    """A dome shell (longer front to back) with a visor, a brim and ridge, or a peak and straps."""
    a = Assembly()
    r = rng.uniform(0.13, 0.16)
    style = choice(rng, ("bike", "motorcycle", "hard_hat"))
    shell = solid(
        "shell",
        jitter(
            rng, choice(rng, ((0.9, 0.75, 0.1), (0.9, 0.9, 0.9), (0.1, 0.1, 0.1), (0.75, 0.1, 0.1), (0.1, 0.3, 0.7)))
        ),
    )
    low = -0.6 if style == "motorcycle" else 0.0
    tall, long = rng.uniform(0.9, 1.2), rng.uniform(1.0, 1.3)

    def dome(
        scale: float, start: float, stop: float, turn: tuple[float, float] = (0.0, 360.0)
    ) -> tuple[trimesh.Trimesh, np.ndarray]:
        prof = [(scale * r * np.cos(t), scale * r * tall * np.sin(t)) for t in np.linspace(start, stop, 10)]
        if stop >= np.pi / 2:
            prof[-1] = (0.0, scale * r * tall)
        mesh, uv = lathe(prof, sections=28 if turn == (0.0, 360.0) else 6, turn=turn)
        mesh = scaled(mesh, (1.0, 1.0, long))
        return mesh, uv

    mesh, uv = dome(1.0, low, np.pi / 2)
    a.add(mesh, shell, uv)
    if style == "motorcycle":
        visor, uv = dome(1.03, -0.3, 0.45, turn=(50.0, 130.0))
        a.add(visor, solid("visor", (0.1, 0.12, 0.15)), uv)
    elif style == "hard_hat":
        a.add_lathe([(r * 0.98, 0.0), (r * 1.35, -0.005), (r * 1.35, 0.005), (r * 0.98, 0.01)], shell)
        ridge = solid("ridge", jitter(rng, tuple(c * 0.8 for c in shell.kd)))
        for turn in ((84.0, 96.0), (264.0, 276.0)):
            strip, uv = dome(1.03, 0.15, np.pi / 2, turn=turn)
            a.add(strip, ridge, uv)
    else:  # bicycle helmet: a peak at the front and straps down the sides
        a.add(
            box((r * 1.1, 0.006, r * 0.35), (0, r * 0.25, -r * long * 1.05)),
            solid("peak", jitter(rng, (0.1, 0.1, 0.1))),
        )
        straps = solid("straps", (0.08, 0.08, 0.08))
        for sx in (-1, 1):
            a.add(tube([(sx * r * 0.97, 0.0, 0.0), (sx * r * 0.6, -r * 0.9, -r * 0.3)], 0.005, sections=5), straps)
    return a


def cap(rng: np.random.Generator) -> Assembly:
    a = Assembly()
    r = rng.uniform(0.09, 0.1)
    color = jitter(rng, choice(rng, FABRIC_COLORS + ((0.1, 0.1, 0.1),)))
    crown = solid("crown", color)
    crown_h = r * rng.uniform(0.65, 1.0)
    prof = [(r * np.cos(t), crown_h * np.sin(t)) for t in np.linspace(0.0, np.pi / 2, 9)]
    a.add_lathe(prof[:-1] + [(0.0, crown_h)], crown)
    ang = np.linspace(-np.pi * 0.42, np.pi * 0.42, 12)
    brim_len = r * rng.uniform(0.45, 1.1)
    outline = [(r * np.sin(t), -r * np.cos(t)) for t in ang]
    outline += [(r * np.sin(t) * 1.05, -(r + brim_len) * np.cos(t) * 0.98) for t in ang[::-1]]
    brim = solid("brim", jitter(rng, color, 0.12)) if rng.uniform() < 0.5 else crown
    a.add(extrude(outline, 0.006, axes="xzy", offset=0.004), brim)
    a.add(ball(0.008, (0, crown_h, 0), subdivisions=1), solid("button", jitter(rng, color, 0.1)))
    return a


def faucet(rng: np.random.Generator) -> Assembly:
    a = Assembly()
    metal = solid("chrome", jitter(rng, choice(rng, ((0.85, 0.86, 0.88), (0.75, 0.6, 0.3), (0.1, 0.1, 0.1))), 0.03))
    h, reach = rng.uniform(0.15, 0.35), rng.uniform(0.12, 0.22)
    a.add_lathe([(0.0, 0.0), (0.03, 0.0), (0.028, 0.02), (0.0, 0.02)], metal, sections=16)
    if rng.uniform() < 0.5:  # gooseneck
        path = np.concatenate(
            [
                [(0.0, 0.02, 0.0)],
                [(0.0, h, 0.0)],
                arc((0, h, -reach / 2), reach / 2, 0, 180, plane="zy", steps=12)[1:],
                [(0.0, h - 0.05, -reach)],
            ]
        )
    else:  # straight spout
        path = np.array([(0.0, 0.02, 0.0), (0.0, h, 0.0), (0.0, h, -reach), (0.0, h - 0.03, -reach - 0.01)])
    a.add(tube(path, 0.012, sections=10), metal)
    lever = solid("lever", jitter(rng, metal.kd, 0.05))
    if rng.uniform() < 0.5:
        a.add(rod((0, h * 0.6, 0), (0, h * 0.6, 0.08), 0.008, sections=8), lever)
    else:
        for sx in (-1, 1):
            a.add(rod((sx * 0.08, 0.0, 0), (sx * 0.08, 0.05, 0), 0.015, sections=10), lever)
            a.add(box((0.05, 0.01, 0.01), (sx * 0.08, 0.055, 0)), lever)
    return a


def tower(rng: np.random.Generator) -> Assembly:
    style = choice(rng, ("castle", "lattice", "lighthouse"))
    a = Assembly()
    h = rng.uniform(15.0, 40.0)
    if style == "castle":
        r = h * rng.uniform(0.12, 0.2)
        stone = textured(
            "stone",
            Texture(
                "checker",
                jitter(rng, (0.6, 0.58, 0.55)),
                jitter(rng, (0.5, 0.48, 0.45)),
                seed=texture_seed(rng),
            ),
        )
        sections = choice(rng, (4, 8, 24))
        a.add_lathe(
            [(0.0, 0.0), (r * 1.1, 0.0), (r, h), (r * 1.15, h), (r * 1.15, h * 1.05), (0.0, h * 1.05)], stone, sections
        )
        for k in range(8):
            ang = 2 * np.pi * k / 8
            a.add(box((r * 0.35, h * 0.06, r * 0.35), (r * np.cos(ang), h * 1.08, r * np.sin(ang))), stone)
        a.add(box((r * 0.5, h * 0.15, 0.1), (0, h * 0.075, -r * 1.05)), solid("door", (0.3, 0.2, 0.1)))
    elif style == "lattice":
        steel = solid("steel", jitter(rng, choice(rng, ((0.45, 0.3, 0.2), (0.6, 0.6, 0.62), (0.8, 0.2, 0.1)))))
        base = h * rng.uniform(0.1, 0.3)
        corners = [(-1, -1), (1, -1), (1, 1), (-1, 1)]
        for cx, cz in corners:
            a.add(
                rod((cx * base, 0.0, cz * base), (cx * base * 0.15, h, cz * base * 0.15), h * 0.008, sections=6), steel
            )
        for f in np.linspace(0.1, 0.9, int(rng.integers(4, 9))):
            s = base * (1 - 0.85 * f)
            for (ax, az), (bx, bz) in zip(corners, corners[1:] + corners[:1]):
                a.add(rod((ax * s, h * f, az * s), (bx * s, h * f, bz * s), h * 0.005, sections=4), steel)
        mast = h * rng.uniform(1.05, 1.3)
        a.add(rod((0, h, 0), (0, mast, 0), h * 0.01, sections=6), steel)
        a.add(ball(h * 0.02, (0, mast, 0), subdivisions=1), solid("beacon", (0.9, 0.1, 0.1)))
    else:
        r = h * rng.uniform(0.08, 0.12)
        paint = textured(
            "paint", Texture("stripes", (0.95, 0.95, 0.95), (0.8, 0.1, 0.1), seed=texture_seed(rng))
        )
        a.add_lathe([(0.0, 0.0), (r * 1.4, 0.0), (r, h), (0.0, h)], paint, 20)
        a.add(rod((0, h, 0), (0, h + r * 1.2, 0), r * 0.8, sections=16), solid("lantern", (0.95, 0.9, 0.5)))
        a.add_lathe([(r * 1.0, h + r * 1.2), (0.0, h + r * 2.0)], solid("roof", (0.15, 0.15, 0.15)), 16)
    return a

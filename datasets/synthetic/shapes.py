"""The procedural classes of the synthetic set: one generator per ShapeNet synset.

A generator maps the object's own ``numpy.random.Generator`` to an ``Assembly`` (metres, y up,
front towards -z). ``build_object`` seeds it from (set seed, synset, index) and normalises the
result like ShapeNetCore v2, so one object never depends on which other objects were built.
"""

from __future__ import annotations

import hashlib
from typing import Callable

import numpy as np

from clip2point.datasets.synthetic import accessories as accessories
from clip2point.datasets.synthetic import appliances as appliances
from clip2point.datasets.synthetic import furniture as furniture
from clip2point.datasets.synthetic import handheld as handheld
from clip2point.datasets.synthetic import objects as objects
from clip2point.datasets.synthetic import transport as transport
from clip2point.datasets.synthetic import vehicles as vehicles
from clip2point.datasets.synthetic.assembly import Assembly
from clip2point.datasets.taxonomy import synset_name
from clip2point.errors import ConfigError

Generator = Callable[[np.random.Generator], Assembly]

# synset id -> generator, id-sorted like the taxonomy.
SHAPE_GENERATORS: dict[str, Generator] = {
    "02691156": vehicles.airplane,
    "02747177": objects.trash_bin,
    "02773838": accessories.bag,
    "02801938": accessories.basket,
    "02808440": appliances.bathtub,
    "02818832": furniture.bed,
    "02828884": furniture.bench,
    "02843684": appliances.birdhouse,
    "02871439": furniture.bookshelf,
    "02876657": objects.bottle,
    "02880940": objects.bowl,
    "02924116": vehicles.bus,
    "02933112": appliances.cabinet,
    "02942699": handheld.camera,
    "02946921": objects.can,
    "02954340": accessories.cap,
    "02958343": vehicles.car,
    "02992529": handheld.cellphone,
    "03001627": furniture.chair,
    "03046257": handheld.clock,
    "03085013": handheld.keyboard,
    "03207941": appliances.dishwasher,
    "03211117": objects.display,
    "03261776": handheld.earphone,
    "03325088": accessories.faucet,
    "03337140": appliances.file_cabinet,
    "03467517": handheld.guitar,
    "03513137": accessories.helmet,
    "03593526": accessories.jar,
    "03624134": handheld.knife,
    "03636649": objects.lamp,
    "03642806": objects.laptop,
    "03691459": appliances.loudspeaker,
    "03710193": appliances.mailbox,
    "03759954": handheld.microphone,
    "03761084": appliances.microwaves,
    "03790512": vehicles.motorbike,
    "03797390": objects.mug,
    "03928116": appliances.piano,
    "03938244": accessories.pillow,
    "03948459": handheld.pistol,
    "03991062": objects.flowerpot,
    "04004475": appliances.printer,
    "04074963": handheld.remote,
    "04090263": handheld.rifle,
    "04099429": transport.rocket,
    "04225987": vehicles.skateboard,
    "04256520": furniture.sofa,
    "04330267": appliances.stove,
    "04379243": furniture.table,
    "04401088": handheld.telephone,
    "04460130": accessories.tower,
    "04468005": transport.train,
    "04530566": transport.watercraft,
    "04554684": appliances.washer,
}

SYNTHETIC_SYNSETS: tuple[str, ...] = tuple(sorted(SHAPE_GENERATORS))


def model_id(synset: str, index: int, seed: int) -> str:
    """A 32-hex-digit id like ShapeNet's, stable for (synset, index, seed)."""
    return hashlib.sha256(f"clip2point-synthetic/{synset}/{index}/{seed}".encode()).hexdigest()[:32]


def object_rng(synset: str, index: int, seed: int) -> np.random.Generator:
    """The object's own generator: independent of every other object and of the set size."""
    return np.random.default_rng(np.random.SeedSequence([seed, int(synset), index]))


def build_object(synset: str, index: int, seed: int) -> Assembly:
    """Object ``index`` of class ``synset`` for set seed ``seed``, ShapeNet-normalised."""
    if synset not in SHAPE_GENERATORS:
        known = ", ".join(f"{s} {synset_name(s)}" for s in SYNTHETIC_SYNSETS)
        raise ConfigError(f"the synthetic set has no generator for synset {synset!r}; it has: {known}")
    return SHAPE_GENERATORS[synset](object_rng(synset, index, seed)).normalized()

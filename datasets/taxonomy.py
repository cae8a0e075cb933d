"""ShapeNetCore v2's 55 categories: WordNet synset id -> class name.

The names are the ShapeNet-55 class names that Point-BERT / PoinTr ship
(``shapenet_synset_dict.json``) and that CLIP2Point's zero-shot prompts on ShapeNet are built from
("trash bin", "microwaves", "motorbike", ...). Class indices follow the id-sorted order, as
CLIP2Point's ``cat_labels`` does (02691156 airplane -> 0 ... 04554684 washer -> 54).
"""

from __future__ import annotations

from clip2point.errors import ConfigError

SHAPENET_SYNSETS: dict[str, str] = {
    "02691156": "airplane",
    "02747177": "trash bin",
    "02773838": "bag",
    "02801938": "basket",
    "02808440": "bathtub",
    "02818832": "bed",
    "02828884": "bench",
    "02843684": "birdhouse",
    "02871439": "bookshelf",
    "02876657": "bottle",
    "02880940": "bowl",
    "02924116": "bus",
    "02933112": "cabinet",
    "02942699": "camera",
    "02946921": "can",
    "02954340": "cap",
    "02958343": "car",
    "02992529": "cellphone",
    "03001627": "chair",
    "03046257": "clock",
    "03085013": "keyboard",
    "03207941": "dishwasher",
    "03211117": "display",
    "03261776": "earphone",
    "03325088": "faucet",
    "03337140": "file cabinet",
    "03467517": "guitar",
    "03513137": "helmet",
    "03593526": "jar",
    "03624134": "knife",
    "03636649": "lamp",
    "03642806": "laptop",
    "03691459": "loudspeaker",
    "03710193": "mailbox",
    "03759954": "microphone",
    "03761084": "microwaves",
    "03790512": "motorbike",
    "03797390": "mug",
    "03928116": "piano",
    "03938244": "pillow",
    "03948459": "pistol",
    "03991062": "flowerpot",
    "04004475": "printer",
    "04074963": "remote",
    "04090263": "rifle",
    "04099429": "rocket",
    "04225987": "skateboard",
    "04256520": "sofa",
    "04330267": "stove",
    "04379243": "table",
    "04401088": "telephone",
    "04460130": "tower",
    "04468005": "train",
    "04530566": "watercraft",
    "04554684": "washer",
}

SYNSET_IDS: tuple[str, ...] = tuple(SHAPENET_SYNSETS)
CLASS_NAMES: tuple[str, ...] = tuple(SHAPENET_SYNSETS.values())
_INDEX = {synset: i for i, synset in enumerate(SYNSET_IDS)}
_BY_NAME = {name: synset for synset, name in SHAPENET_SYNSETS.items()}


def _unknown_synset(synset: str) -> ConfigError:
    return ConfigError(
        f"unknown ShapeNetCore synset id {synset!r}: expected one of the 55 eight-digit ids "
        f"(e.g. 03001627 for chair); see clip2point.datasets.taxonomy.SHAPENET_SYNSETS"
    )


def synset_name(synset: str) -> str:
    """Class name of a synset id, e.g. ``"03001627"`` -> ``"chair"``."""
    try:
        return SHAPENET_SYNSETS[synset]
    except KeyError:
        raise _unknown_synset(synset) from None


def synset_index(synset: str) -> int:
    """Class index (0..54) in id-sorted order, the label CLIP2Point trains and evaluates with."""
    try:
        return _INDEX[synset]
    except KeyError:
        raise _unknown_synset(synset) from None


def synset_of(name: str) -> str:
    """Synset id of a class name (exact ShapeNet-55 spelling, case-insensitive)."""
    try:
        return _BY_NAME[name.strip().lower()]
    except KeyError:
        raise ConfigError(
            f"unknown ShapeNet class name {name!r}; names are ShapeNet-55's, e.g. 'chair', 'trash bin', 'motorbike'"
        ) from None

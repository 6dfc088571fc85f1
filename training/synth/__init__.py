"""A synthetic influencer world written in the public dataset's layout (see knobs.py for its design)."""

from training.synth.knobs import WorldKnobs
from training.synth.meta import WorldMeta, load_world_meta

__all__ = ["WorldKnobs", "WorldMeta", "load_world_meta"]

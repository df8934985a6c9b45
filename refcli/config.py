"""Index settings: what decides what `refcli index` stores, saved in the database.

An archive indexed with ``--faces`` must stay indexed with faces when the nightly ``refcli scan``
runs without the flag: otherwise every scan re-indexes every file under other settings and drops
what was asked for. So the settings an index ran with are saved in the database, and a later
index or scan takes each setting from, in order: the command line, the database, the default.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, fields, replace
from typing import Any

from refcli.defaults import DEFAULT_FPS, DEFAULT_REUSE_STILL

DEFAULT_DETECTOR = "ssdlite"  # refcli.detect's embedded detector (named here without importing it)


@dataclass(frozen=True)
class IndexSettings:
    """The settings that change what is stored for a file (its pipeline signature)."""

    fps: float = DEFAULT_FPS
    detector: str = DEFAULT_DETECTOR
    detector_model: str | None = None
    faces: bool = False
    pose: bool = False
    reuse_still: bool = DEFAULT_REUSE_STILL  # video samples where nothing moved reuse the last boxes

    def to_json(self) -> str:
        return json.dumps(asdict(self), sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> IndexSettings:
        """Settings saved by this or an older refcli; unknown keys (from a newer one) are ignored.

        Settings saved before ``reuse_still`` existed were indexed detecting every sample: they keep
        doing so (their files' signatures stay the same, so nothing is re-indexed for it)."""
        known = {f.name for f in fields(cls)}
        values = {k: v for k, v in json.loads(text).items() if k in known}
        values.setdefault("reuse_still", False)
        return cls(**values)

    def given(self, **changes: Any) -> IndexSettings:
        """These settings with the values given on the command line (None: not given)."""
        return replace(self, **{k: v for k, v in changes.items() if v is not None})

    @property
    def features(self) -> dict[str, bool]:
        """The opt-in features (refcli.features) these settings ask for, by name."""
        return {"faces": self.faces, "pose": self.pose}

    def describe(self) -> str:
        parts = [f"detector {self.detector}" + (f" ({self.detector_model})" if self.detector_model else ""),
                 f"{self.fps:g} fps"]
        parts += [name for name, on in self.features.items() if on]
        if self.reuse_still:
            parts.append("still frames reuse boxes")
        return ", ".join(parts)


def resolve(saved: IndexSettings | None, **given: Any) -> IndexSettings:
    """Each setting from the command line (``given``, None where not given), else the database's
    saved settings, else the default."""
    if saved is not None and given.get("detector") not in (None, saved.detector):
        saved = replace(saved, detector_model=None)  # another detector: the saved model was the old one's
    return (saved or IndexSettings()).given(**given)

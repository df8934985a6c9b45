"""Defaults shared by the library and the CLI (kept free of heavy imports)."""

DEFAULT_FPS = 2.0

DEFAULT_REUSE_STILL = True
"""Whether video samples where nothing moved reuse the last detected boxes (refcli.index.stillness),
for databases indexed first by a refcli that has the setting (older ones keep detecting every
sample: refcli.config). Measured by bench/bench_static.py (docs/benchmarks.md): no track-second
lost on any video; nothing saved where something always moves (every real video measured, e.g.
vtest.avi), 65-71% of detector calls on a constructed fixed-camera clip with quiet stretches."""

PEOPLE_MIN_SCORE = 0.3
"""Detections at or above this count as people (summaries, `find --min-score` default).

Measured with the embedded detector on 8 hand-checked vtest frames (47 people): 0.5 finds
57-77% of them with no false box, 0.3 finds 81-85% with 2 false boxes in all. Lower-scored
boxes (down to the detector floor, 0.2) are still stored: trackers and referrers use them
as candidates."""

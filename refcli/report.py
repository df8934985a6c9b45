"""Looking at hits: a self-contained HTML report and a contact sheet."""

from __future__ import annotations

import base64
import html
import io
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import numpy.typing as npt

from refcli.errors import RefcliError, StoreError
from refcli.query.hits import FindResult, Hit, format_span
from refcli.render import HitRef, Sheet, hit_picture, writing
from refcli.store import Store

_CSS = """
body{font:14px/1.4 system-ui,sans-serif;margin:24px;color:#222;background:#fafafa}
h1{font-size:20px;margin:0 0 4px} .meta{color:#666;margin-bottom:16px}
.hits{display:grid;grid-template-columns:repeat(auto-fill,minmax(320px,1fr));gap:16px}
.hit{background:#fff;border:1px solid #ddd;border-radius:6px;overflow:hidden}
.hit img{width:100%;display:block;background:#eee} .hit .info{padding:8px 10px}
.hit a{color:#0645ad;word-break:break-all} .score{float:right;font-weight:600}
.none{padding:24px;background:#fff;border:1px solid #ddd;border-radius:6px}
"""

_SCRIPT = """
window.addEventListener('error', e => { document.body.dataset.errors = (+document.body.dataset.errors || 0) + 1; });
window.addEventListener('load', () => {
  const imgs = [...document.querySelectorAll('.hit img')];
  document.body.dataset.rendered = imgs.filter(i => i.complete && i.naturalWidth > 0).length;
});
"""


def _picture(store: Store, hit: Hit, max_side: int) -> npt.NDArray[np.uint8] | None:
    try:
        return hit_picture(store, HitRef.parse(hit.id), max_side=max_side)
    except StoreError:
        raise  # the database, not this hit: the report would be all gaps
    except RefcliError:
        return None  # the file went away since indexing: the card says so


def _jpeg_data_uri(image: npt.NDArray[np.uint8]) -> str:
    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(image).save(buffer, format="JPEG", quality=85)
    return "data:image/jpeg;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def _span(hit: Hit) -> str:
    return format_span(hit.start, hit.end) if hit.kind == "video" else "photo"


def write_html(store: Store, result: FindResult, path: str, max_side: int = 480) -> int:
    """Write one HTML file with every hit's picture embedded; returns the number of hit cards."""
    e = html.escape
    cards = []
    for rank, hit in enumerate(result.hits, 1):
        picture = _picture(store, hit, max_side)
        img = (f'<img alt="hit {rank}" src="{_jpeg_data_uri(picture)}">' if picture is not None
               else '<div class="none">picture unavailable: the file cannot be read any more</div>')
        uri = Path(hit.path).as_uri()
        cards.append(
            f'<div class="hit" data-hit="{e(hit.id)}">{img}<div class="info">'
            f'<span class="score">{hit.score:.2f}</span><b>#{rank}</b> {e(_span(hit))}'
            f'{f" · track {hit.track}" if hit.track is not None else ""}<br>'
            f'<a href="{e(uri)}">{e(hit.path)}</a><br><small>hit {e(hit.id)}</small></div></div>')
    shown = len(result.hits)
    meta = (f"{shown} of {result.total} hits" if shown < result.total else f"{result.total} hits")
    meta += f" · backend {e(result.backend)} · {e(time.strftime('%Y-%m-%d %H:%M'))}"
    if result.unsupported:
        meta += f" · cannot judge: {e(', '.join(result.unsupported))}"
    body = "".join(cards) or '<div class="none">Nobody matches.</div>'
    page = (f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>refcli: {e(result.query)}</title>'
            f"<style>{_CSS}</style><script>{_SCRIPT}</script></head><body>"
            f'<h1>{e(result.query)}</h1><div class="meta">{meta}</div><div class="hits">{body}</div></body></html>')
    with writing(path):
        Path(path).write_text(page, encoding="utf-8")
    return len(cards)


def contact_sheet(store: Store, hits: Sequence[Hit], path: str, columns: int = 4, cell: int = 320) -> int:
    """One PNG grid of the hits, each labelled with file, time and score; returns the cell count."""
    from PIL import Image

    sheet = Sheet(len(hits), columns, cell)
    for i, hit in enumerate(hits):
        picture = _picture(store, hit, cell - 8)
        if picture is not None:
            sheet.paste(i, Image.fromarray(picture))
        else:
            sheet.missing(i, "picture unavailable")
        sheet.caption(i, f"#{i + 1} {Path(hit.path).name[:38]}", f"{_span(hit)}  score {hit.score:.2f}")
    sheet.save(path, "nobody matches")
    return len(hits)

"""QR codes of our own links (segno, STYLE.md's choice): inline SVG for pages, an SVG file to download.

Only ever made from addresses the product builds (a survey's web link, a kiosk's address): the SVG holds path data
and nothing the user typed, so it can be put in a page as it is; the page names it in words (aria-label)."""

from __future__ import annotations

import io

import segno
from django.utils.safestring import SafeString, mark_safe

DARK = "#111827"  # the page's text colour: 17:1 on white, scanned like black


def qr_svg_inline(url: str, *, scale: int = 4) -> SafeString:
    """An `<svg>` element of `url`'s QR code (error correction M, a 2-module quiet zone), for a page."""
    return mark_safe(segno.make(url, error="m").svg_inline(scale=scale, border=2, dark=DARK, light="#fff"))  # path data only (module docstring)


def qr_svg_file(url: str) -> bytes:
    """A standalone SVG file of `url`'s QR code (to print on a poster or a table tent), with the usual 4-module border."""
    out = io.BytesIO()
    segno.make(url, error="m").save(out, kind="svg", scale=10, border=4, dark="#000", light="#fff", xmldecl=True)
    return out.getvalue()

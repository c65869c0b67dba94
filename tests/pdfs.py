"""Reading the PDFs Chromium prints (shared by the PDF tests): pages, text, and "is this printed"."""

from __future__ import annotations

import re
import zlib


def pdf_pages(data: bytes) -> int:
    return len(re.findall(rb"/Type\s*/Page(?![s\w])", data))


def pdf_text(data: bytes) -> str:
    """The text of a PDF made by Chromium (Skia): inflate each page's content stream, map the glyph ids
    of its Tj/TJ strings through the fonts' ToUnicode CMaps. Enough for Chromium's output, no library."""
    objects = {int(m.group(1)): m.group(2) for m in re.finditer(rb"(\d+) 0 obj\s*(.*?)endobj", data, re.S)}

    def stream(number):
        body = objects[number]
        raw = re.search(rb"stream\r?\n(.*)\r?\nendstream", body, re.S).group(1)
        return zlib.decompress(raw) if b"/FlateDecode" in body else raw

    def cmap(number):
        text, out = stream(number).decode("latin-1"), {}
        for block in re.findall(r"beginbfchar(.*?)endbfchar", text, re.S):
            for src, dst in re.findall(r"<([0-9A-Fa-f]+)>\s*<([0-9A-Fa-f]+)>", block):
                out[int(src, 16)] = bytes.fromhex(dst).decode("utf-16-be")
        for block in re.findall(r"beginbfrange(.*?)endbfrange", text, re.S):
            for lo, hi, dst in re.findall(r"<([0-9A-Fa-f]+)>\s*<([0-9A-Fa-f]+)>\s*<([0-9A-Fa-f]+)>", block):
                base = int(dst, 16)
                for i, code in enumerate(range(int(lo, 16), int(hi, 16) + 1)):
                    out[code] = chr(base + i)
        return out

    pages = []
    for body in objects.values():
        if not re.search(rb"/Type\s*/Page(?![s\w])", body):
            continue
        fonts = {}
        font_dict = re.search(rb"/Font\s*<<(.*?)>>", body, re.S)
        for name, ref in re.findall(rb"/(\w+)\s+(\d+) 0 R", font_dict.group(1) if font_dict else b""):
            unicode_ref = re.search(rb"/ToUnicode\s+(\d+) 0 R", objects[int(ref)])
            fonts[name.decode()] = cmap(int(unicode_ref.group(1))) if unicode_ref else {}
        contents = [int(n) for n in re.findall(rb"(\d+) 0 R", re.search(rb"/Contents\s*(\[[^\]]*\]|\d+ 0 R)", body).group(1))]
        words, current = [], {}
        for number in contents:
            content = stream(number).decode("latin-1")
            for font, strings in re.findall(r"/(\w+)\s+[\d.]+\s+Tf|((?:<[0-9A-Fa-f]*>|\[[^\]]*\])\s*T[Jj])", content):
                if font:
                    current = fonts.get(font, {})
                    continue
                chunk = "".join(current.get(int(h[i:i + 4], 16), "") for h in re.findall(r"<([0-9A-Fa-f]*)>", strings)
                                for i in range(0, len(h), 4))
                words.append(chunk)
        pages.append(" ".join(words))
    return "\n".join(pages)


def squashed(text: str) -> str:
    """Text without whitespace, case-folded: Chromium places letter-spaced glyphs one by one, so the
    extracted words' spacing is not the page's."""
    return re.sub(r"\s+", "", text).casefold()


def printed(expected: str, text: str) -> bool:
    return squashed(expected) in squashed(text)

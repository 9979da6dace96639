"""The fonts documents are printed in: DejaVu Sans (with the rupee sign) when installed, else Helvetica.

DejaVu Sans is embedded (subset) with a ToUnicode map, so every word is
extractable and the rupee sign prints (DESIGN.md §9; the Docker image installs
`fonts-dejavu-core`). Where the font is missing (a bare development machine) the
standard Helvetica is used, which has no rupee sign: amounts then carry "INR".
"""

from __future__ import annotations

import contextlib
import zlib
from functools import cache, lru_cache
from pathlib import Path
from typing import Any, NamedTuple

from reportlab import rl_config
from reportlab.pdfbase import pdfdoc, pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont

FONT_DIRS = (
    "/usr/share/fonts/truetype/dejavu",  # Debian, Ubuntu (fonts-dejavu-core)
    "/usr/share/fonts/dejavu",  # Fedora, Alpine
    "/usr/share/fonts/TTF",  # Arch
    "/usr/local/share/fonts",
)


class Fonts(NamedTuple):
    regular: str
    bold: str
    rupee: str  # what goes before an INR amount


@cache
def load_fonts() -> Fonts:
    """DejaVu Sans (with ₹) when installed, else Helvetica (without)."""
    # Page streams in binary Flate only: ASCII85 on top makes them larger and slower (docs/decisions.md).
    rl_config.useA85 = 0
    for folder in map(Path, FONT_DIRS):
        regular, bold = folder / "DejaVuSans.ttf", folder / "DejaVuSans-Bold.ttf"
        if regular.is_file() and bold.is_file():
            _register("DejaVuSans", regular)
            _register("DejaVuSans-Bold", bold)
            return Fonts("DejaVuSans", "DejaVuSans-Bold", "₹")
    return Fonts("Helvetica", "Helvetica-Bold", "INR")


def _register(name: str, path: Path) -> None:
    font = TTFont(name, str(path))
    _reuse_font_programs(font)
    pdfmetrics.registerFont(font)


def _reuse_font_programs(font: TTFont) -> None:
    """Build and compress each font subset once, not once per document (figures: docs/decisions.md).

    A subset's program is a pure function of its characters, and invoices keep
    using the same few. reportlab builds it in `makeSubset` and compresses it when
    the file is written; the stream it registers is given the cached compressed
    bytes with their filter, which reportlab then leaves alone. The bytes are
    those reportlab would write (same zlib call), so renders stay identical.
    """
    face = font.face
    make_subset, add_subset_objects = face.makeSubset, face.addSubsetObjects

    @lru_cache(maxsize=32)
    def program(codes: tuple[int, ...]) -> tuple[bytes, bytes]:
        raw: bytes = make_subset(list(codes))
        return raw, zlib.compress(raw)

    def add_cached_subset_objects(doc: Any, fontname: str, subset: list[int]) -> Any:
        reference = add_subset_objects(doc, fontname, subset)
        if doc.compression:
            with contextlib.suppress(AttributeError, KeyError):  # another reportlab: compress as usual
                descriptor = doc.idToObject[reference.name]
                stream = doc.idToObject[descriptor.dict["FontFile2"].name]
                stream.content = program(tuple(subset))[1]
                stream.dictionary["Filter"] = pdfdoc.PDFArray([pdfdoc.PDFName("FlateDecode")])
        return reference

    face.makeSubset = lambda subset: program(tuple(subset))[0]
    face.addSubsetObjects = add_cached_subset_objects

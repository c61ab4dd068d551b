"""Rebuild each add-on's README.rst from its readme/*.md (DESCRIPTION, CONFIGURE,
USAGE), keeping the title, badges and the sections after Usage (credits).

Usage: python scripts/gen_readme.py [ADDON ...]   (default: every add-on)

The readme files use a small Markdown subset (paragraphs, lists, `code`,
**bold**, *italics*, indented code blocks after a line ending with ':'), which
maps to reStructuredText line by line."""

import re
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
SECTIONS = (
    ("DESCRIPTION.md", None),
    ("CONFIGURE.md", "Configuration"),
    ("USAGE.md", "Usage"),
)
MARK = ".. Generated from readme/*.md; edit those, not this file."
TOC = re.compile(r"(\*\*Table of contents\*\*\n\n)?\.\. contents::\n   :local:\n")


def md_to_rst(text):
    lines = text.rstrip("\n").split("\n")
    out = []
    for i, line in enumerate(lines):
        converted = re.sub(r"(?<!`)`([^`]+)`(?!`)", r"``\1``", line)
        nxt = lines[i + 2] if i + 2 < len(lines) else ""
        block_follows = (
            line.endswith(":")
            and i + 1 < len(lines)
            and not lines[i + 1].strip()
            and nxt.startswith("    ")
            and not nxt.lstrip().startswith(("- ", "* "))
        )
        if block_follows:
            converted += ":"
        out.append(converted)
    return "\n".join(out) + "\n"


def rebuild(addon):
    rst = addon / "README.rst"
    old = rst.read_text(encoding="utf-8")
    head, sep, rest = old.partition(MARK)
    if not sep:
        raise SystemExit(f"{rst}: no '{MARK}' line")
    rest_lines = rest.split("\n")
    # Badges (substitutions and their definitions) stay as they are.
    keep = []
    for line in rest_lines[1:]:
        if line.startswith((".. |", "    :", "|")) or not line.strip():
            keep.append(line)
            continue
        break
    while keep and not keep[-1].strip():
        keep.pop()
    footer = re.search(r"^(Bug Tracker|Credits)\n=+\n", old, re.M)
    badges = "\n".join(keep).rstrip("\n")
    parts = [head + MARK + "\n" + (badges + "\n" if badges else "")]
    toc = TOC.search(old)
    toc = toc and toc.group(0)
    for name, title in SECTIONS:
        md = addon / "readme" / name
        if not md.exists():
            continue
        body = md_to_rst(md.read_text(encoding="utf-8"))
        if title and toc:
            parts.append(toc)
            toc = None
        parts.append((f"{title}\n{'=' * len(title)}\n\n" if title else "") + body)
    if footer:
        parts.append(old[footer.start() :].rstrip("\n") + "\n")
    rst.write_text("\n".join(parts), encoding="utf-8")


def main(names):
    addons = [REPO / n for n in names] or sorted(
        p.parent for p in REPO.glob("*/__manifest__.py")
    )
    for addon in addons:
        rebuild(addon)


if __name__ == "__main__":
    main(sys.argv[1:])

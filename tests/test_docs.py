"""The README and the pages under docs/: short enough to read, and every link they make
between them (and to the repository's files) resolves."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from conftest import ROOT

PAGES = [ROOT / "README.md", ROOT / "bench" / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)\)|<img [^>]*src=\"([^\"]+)\"")


def anchors(page: Path) -> set[str]:
    """The anchors GitHub gives the page's headings: lower case, punctuation dropped (but
    hyphens and underscores), spaces as hyphens."""
    text = re.sub(r"```.*?```", "", page.read_text(encoding="utf-8"), flags=re.S)
    headings = re.findall(r"^#+ (.+)$", text, flags=re.M)
    return {re.sub(r"[^\w\- ]", "", h.strip().lower()).replace(" ", "-") for h in headings}


def broken_links(page: Path) -> list[str]:
    text = re.sub(r"```.*?```", "", page.read_text(encoding="utf-8"), flags=re.S)
    broken = []
    for match in LINK.finditer(text):
        target = match.group(1) or match.group(2)
        if re.match(r"[a-z]+:", target):  # https:, mailto:
            continue
        path, _, anchor = target.partition("#")
        resolved = (page.parent / path).resolve() if path else page
        if not resolved.exists():
            broken.append(f"{target}: no such file")
        elif anchor and resolved.suffix == ".md" and anchor not in anchors(resolved):
            broken.append(f"{target}: no such heading")
    return broken


def test_every_relative_link_of_the_readme_and_docs_resolves():
    assert len(PAGES) > 5
    found = {page.relative_to(ROOT).as_posix(): broken_links(page) for page in PAGES}
    assert {page: links for page, links in found.items() if links} == {}


def test_the_link_check_finds_a_missing_file_and_heading(tmp_path):
    page = tmp_path / "page.md"
    (tmp_path / "other.md").write_text("# Other\n\n## The default run's time split (2026-12-07)\n")
    page.write_text("[a](other.md#the-default-runs-time-split-2026-12-07) [b](gone.md) "
                    "[c](other.md#nowhere) [d](https://example.com/x) ![e](other.md)\n"
                    "```\n[f](not-a-link.md)\n```\n")
    assert broken_links(page) == ["gone.md: no such file", "other.md#nowhere: no such heading"]


def test_the_readme_is_read_to_the_end():
    """What it is, the quick start, what a run gives, the results, where next: the rest is in
    docs/."""
    assert len((ROOT / "README.md").read_text(encoding="utf-8").splitlines()) <= 300


def test_the_readmes_picture_of_the_chain_is_dvcs():
    drawn = subprocess.run([sys.executable, "-m", "dvc", "dag", "--mermaid"], cwd=ROOT,
                           capture_output=True, text=True, check=True).stdout
    assert f"```mermaid\n{drawn.strip()}\n```" in (ROOT / "README.md").read_text(), \
        "the README's chain is stale: paste `dvc dag --mermaid` in its place"

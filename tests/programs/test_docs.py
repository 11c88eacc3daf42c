"""The documentation follows the tree: the folder map names every folder with code and no other, every
``relais`` command is in docs/commands.md, and every relative link in README.md and docs/ leads to a
file (and a heading, when it names one) that is there."""

from __future__ import annotations

import argparse
import re
import subprocess
from pathlib import Path, PurePosixPath

import pytest

from tests.support import REPO

ROOT = REPO
DOCS = ROOT / "docs"
PAGES = [ROOT / "README.md", *sorted(DOCS.glob("*.md"))]

FENCE = re.compile(r"^```.*?^```", re.MULTILINE | re.DOTALL)
CODE_SPAN = re.compile(r"`[^`\n]*`")
LINK = re.compile(r"\]\(([^)\s]+)\)")
HEADING = re.compile(r"^#{1,6} +(.+?) *$", re.MULTILINE)
MAPPED_FOLDER = re.compile(r"^ *- `([^`]+)/`", re.MULTILINE)
SCHEME = re.compile(r"^[a-z][a-z0-9+.-]*:", re.IGNORECASE)


def project_files() -> list[PurePosixPath]:
    """The files git tracks, or would track once added (ignored ones, caches included, left out)."""
    if not (ROOT / ".git").exists():
        pytest.skip("not a git checkout: the folder map is checked against what git tracks")
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        capture_output=True,
        check=True,
    ).stdout.decode()
    return [PurePosixPath(name) for name in listed.split("\0") if name and (ROOT / name).is_file()]


def code_folders(files: list[PurePosixPath]) -> set[str]:
    """The folders that hold Python code, the tests aside."""
    return {
        str(file.parent)
        for file in files
        if file.suffix == ".py" and file.parent != PurePosixPath(".") and file.parts[0] != "tests"
    }


def project_folders(files: list[PurePosixPath]) -> set[str]:
    return {str(folder) for file in files for folder in file.parents if folder != PurePosixPath(".")}


def folder_map() -> set[str]:
    """The folders listed under « Folder map » in docs/development.md."""
    page = (DOCS / "development.md").read_text(encoding="utf-8")
    section = page.split("\n## Folder map\n", 1)[1].split("\n## ", 1)[0]
    return set(MAPPED_FOLDER.findall(section))


def test_every_folder_with_code_is_in_the_folder_map() -> None:
    assert sorted(code_folders(project_files()) - folder_map()) == []


def test_the_folder_map_names_only_folders_that_exist() -> None:
    assert sorted(folder_map() - project_folders(project_files())) == []


def relais_commands(parser: argparse.ArgumentParser, prefix: str = "relais") -> list[str]:
    """Every command and subcommand of the parser, as typed: ``relais panel add``."""
    found = []
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                found.append(f"{prefix} {name}")
                found.extend(relais_commands(sub, f"{prefix} {name}"))
    return found


def test_every_relais_command_is_in_docs_commands() -> None:
    from programs.cli import build_parser  # here, so that a command that fails to import fails this test only

    page = (DOCS / "commands.md").read_text(encoding="utf-8")
    commands = relais_commands(build_parser())
    assert {"relais demo", "relais serve", "relais panel add", "relais user add"} <= set(commands)
    assert [command for command in commands if not re.search(f"`{command}[ `]", page)] == []


def prose(page: Path) -> str:
    """The page without its code blocks and code spans, where brackets are not links."""
    return CODE_SPAN.sub("", FENCE.sub("", page.read_text(encoding="utf-8")))


def anchors(page: Path) -> set[str]:
    """The anchors GitHub gives the page's headings: lower case, punctuation dropped, spaces to hyphens,
    ``-1``, ``-2``… after a repeated one."""
    seen: dict[str, int] = {}
    for heading in HEADING.findall(FENCE.sub("", page.read_text(encoding="utf-8"))):
        anchor = re.sub(r"[^\w\- ]", "", heading.lower()).replace(" ", "-")
        count = seen.get(anchor, 0)
        seen[anchor] = count + 1
        if count:
            seen[f"{anchor}-{count}"] = 1
    return set(seen)


def broken_links(page: Path) -> list[str]:
    broken = []
    for target in LINK.findall(prose(page)):
        if SCHEME.match(target):
            continue
        path, _, anchor = target.partition("#")
        linked = (page.parent / path).resolve() if path else page
        if not linked.exists():
            broken.append(f"{target}: no such file")
        elif anchor and linked.suffix == ".md" and anchor not in anchors(linked):
            broken.append(f"{target}: no such heading")
    return broken


@pytest.mark.parametrize("page", PAGES, ids=lambda page: str(page.relative_to(ROOT)))
def test_every_relative_link_leads_somewhere(page: Path) -> None:
    assert broken_links(page) == []


@pytest.mark.parametrize(("index", "prefix"), [("README.md", "docs/"), ("docs/README.md", "")])
def test_the_indexes_link_every_page_of_docs(index: str, prefix: str) -> None:
    text = prose(ROOT / index)
    pages = [page.name for page in PAGES[1:] if page.name != "README.md"]
    assert [name for name in pages if f"]({prefix}{name})" not in text] == []

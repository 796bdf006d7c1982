"""The docs that list code are checked against the code (issue 31 item 8).

- docs/architecture.md's module table: every module under ``newlogic/`` has a row, and every row
  names modules that exist;
- docs/results.md's attack presets table lists exactly the attack catalog (``newlogic.attacks.catalog``);
- docs/architecture.md's figure table lists exactly the figure catalog (``newlogic.figure_catalog``):
  name, scope and function.
"""

import re
from pathlib import Path

from newlogic.attacks.catalog import CATALOG
from newlogic.figure_catalog import ENTRIES

ROOT = Path(__file__).resolve().parents[1]
ARCHITECTURE = ROOT / "docs/architecture.md"
RESULTS = ROOT / "docs/results.md"
TICKED = re.compile(r"`([^`]+)`")


def table_rows(path: Path, header: str) -> list[list[str]]:
    """The cells of each row of the Markdown table whose header line is ``header`` (separator row skipped)."""
    lines = path.read_text(encoding="utf-8").splitlines()
    assert header in lines, f"{path.name} has no table headed {header!r}"
    rows = []
    for line in lines[lines.index(header) + 2:]:
        if not line.startswith("|"):
            break
        rows.append([cell.strip() for cell in re.split(r"(?<!\\)\|", line.strip())[1:-1]])
    return rows


def modules() -> set[str]:
    """Every module of the package as a repository path (``newlogic/a/b.py``), package docstrings aside."""
    return {path.relative_to(ROOT).as_posix() for path in (ROOT / "newlogic").rglob("*.py")
            if path.name != "__init__.py"}


def rows_cover(rows: list[list[str]]) -> tuple[set[str], list[str]]:
    """(the modules the rows name, the names in first cells that are no module or folder of modules).

    A first cell names modules by path (``newlogic/a/b.py``; later ones in the same cell may be
    relative to the first one's folder: ``pgd.py``), or a folder (``newlogic/a/``, or a pattern
    ``newlogic/a/<family>.py``), whose modules the job cell then names in backticks (``b``, ``b.py``,
    ``a/b.py`` or ``b.NAME``).
    """
    existing = modules()
    covered: set[str] = set()
    unknown = []
    for first, job, *_ in rows:
        names = TICKED.findall(first)
        folder = names[0] if names[0].endswith("/") else names[0].rsplit("/", 1)[0] + "/"
        for name in names:
            path = name if name.startswith("newlogic/") else folder + name
            if path.endswith("/") or "<" in path:  # a folder: its modules are named in the job cell
                inside = {module for module in existing
                          if module.startswith(folder) and "/" not in module[len(folder):]}
                stems = {token.removesuffix(".py").removeprefix(folder.removeprefix("newlogic/")).split(".")[0]
                         for token in TICKED.findall(job)}
                named = {module for module in inside if module[len(folder):-3] in stems}
                if not named:
                    unknown.append(name)
                covered |= named
            elif path in existing:
                covered.add(path)
            else:
                unknown.append(name)
    return covered, unknown


def test_every_module_has_a_row_and_every_row_a_module() -> None:
    covered, unknown = rows_cover(table_rows(ARCHITECTURE, "| module | job |"))
    assert not unknown, f"docs/architecture.md's module table names what does not exist: {unknown}"
    missing = sorted(modules() - covered)
    assert not missing, f"modules without a row in docs/architecture.md's module table: {missing}"


def test_the_rule_catches_a_missing_and_a_stale_row() -> None:
    rows = [["`newlogic/spec.py`, `gone.py`", "the grammar"], ["`newlogic/report/`", "`collect`, `tables.py`"]]
    covered, unknown = rows_cover(rows)
    assert unknown == ["gone.py"]
    assert covered == {"newlogic/spec.py", "newlogic/report/collect.py", "newlogic/report/tables.py"}


def test_the_attack_table_lists_the_catalog() -> None:
    listed = [TICKED.fullmatch(row[0]).group(1) for row in table_rows(RESULTS, "| attack | paper | strong |")]
    assert listed == list(CATALOG)


def test_the_figure_table_lists_the_catalog() -> None:
    rows = table_rows(ARCHITECTURE, "| figure | scope | function | what it shows |")
    listed = [tuple(TICKED.fullmatch(cell).group(1) for cell in row[:3]) for row in rows]
    assert listed == [(entry.name, entry.scope, entry.function) for entry in ENTRIES]

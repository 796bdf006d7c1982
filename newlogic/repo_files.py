"""The repository files the library reads, found as package data (``importlib.resources``), never by ``__file__``.

``newlogic/repo_data/`` holds links to the repository's ``workflow/schemas/`` and
``config/published/``: an editable install reads the repository's files through them, and a built
wheel carries copies (``[tool.setuptools.package-data]`` in pyproject.toml), so a non-editable install
finds the same files at the same names. newlogic is installed as files (pip never zips it), so each
is a plain ``Path``.
"""

from importlib.resources import files
from pathlib import Path

REPO_DATA = Path(str(files("newlogic") / "repo_data"))
CONFIG_SCHEMA = REPO_DATA / "schemas" / "config.schema.yaml"  # the workflow config's schema
SUMMARY_SCHEMA = REPO_DATA / "schemas" / "summary.schema.yaml"  # an ablation's summary.json schema
PUBLISHED_DIR = REPO_DATA / "published"  # the published tables (newlogic.report.published)

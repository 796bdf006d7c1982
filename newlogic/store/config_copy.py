"""The workflow's config copies (``results/config/<sha16>.json``, ``newlogic.store.paths.config_json``): a copy is
named by the SHA-256 of its content, so an edited copy that keeps its name is refused.

``check_config_copy(path)``: a file whose name is 16 lowercase hex digits plus ``.json`` must hash to that name
(the first 16 hex digits of the SHA-256 of its bytes); any other file is another config and passes unchecked.
"""

import hashlib
import re
from pathlib import Path

from newlogic.errors import UserError

CONTENT_NAMED = re.compile(r"[0-9a-f]{16}\.json")


def check_config_copy(path: Path) -> Path:
    """``path`` when it is not a content-named copy, or is one whose content hashes to its name; else a UserError."""
    if not CONTENT_NAMED.fullmatch(path.name) or not path.is_file():
        return path
    digest = hashlib.sha256(path.read_bytes()).hexdigest()[:16]
    if f"{digest}.json" != path.name:
        raise UserError(f"config {path} is named by a hash its content does not have (SHA-256 {digest}…): it was "
                        "edited after the workflow wrote it; delete it and run the workflow again")
    return path

"""Reading a JSON object from a file, with one clear error for a missing, truncated or binary file."""

import json
from pathlib import Path
from typing import Any

from newlogic.errors import UserError


def read_json_object(path: Path | str, remedy: str) -> dict[str, Any]:
    """The JSON object in ``path``; a UserError naming the file, the fault and ``remedy`` otherwise."""
    path = Path(path)
    try:
        data = json.loads(path.read_bytes().decode())
    except FileNotFoundError:
        raise UserError(f"{path} does not exist; {remedy}") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise UserError(f"{path} is not valid JSON ({error}); {remedy}") from None
    if not isinstance(data, dict):
        raise UserError(f"{path} holds a JSON {type(data).__name__}, not an object; {remedy}")
    return data

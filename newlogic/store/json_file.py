"""Reading a JSON object from a file, strictly (``newlogic.config_file.parse_json_text``: no key twice, finite
numbers), with one clear error for a missing, truncated or binary file."""

from pathlib import Path
from typing import Any

from newlogic.config_file import parse_json_text
from newlogic.errors import UserError


def read_json_object(path: Path | str, remedy: str) -> dict[str, Any]:
    """The JSON object in ``path``; a UserError naming the file, the fault and ``remedy`` otherwise."""
    path = Path(path)
    try:
        data = parse_json_text(path.read_bytes().decode(), str(path))
    except FileNotFoundError:
        raise UserError(f"{path} does not exist; {remedy}") from None
    except UnicodeDecodeError as error:
        raise UserError(f"{path} is not valid JSON ({error}); {remedy}") from None
    except UserError as error:  # parse_json_text: not JSON, a key twice, a number that is not finite
        raise UserError(f"{error}; {remedy}") from None
    if not isinstance(data, dict):
        raise UserError(f"{path} holds a JSON {type(data).__name__}, not an object; {remedy}")
    return data

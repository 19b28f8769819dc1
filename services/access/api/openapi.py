"""Print the query API's OpenAPI document: `python -m services.access.api.openapi`.

`docs/openapi.json` is this output, committed; a test fails when the two drift, so a
change to the API is always a visible change to its contract.
"""

from __future__ import annotations

import json
import sys

from services.access.api.app import build_app


def openapi_document() -> str:
    return json.dumps(build_app().openapi(), indent=2, sort_keys=True) + "\n"


def main() -> None:
    sys.stdout.write(openapi_document())


if __name__ == "__main__":
    main()

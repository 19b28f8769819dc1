from __future__ import annotations

from services.ocpp_gateway.parts import in_parts


def full(n: int) -> dict[str, object]:
    return {
        "listVersion": 7,
        "updateType": "Full",
        "localAuthorizationList": [{"idTag": f"T{i}"} for i in range(n)],
    }


def test_a_list_within_the_limit_goes_whole() -> None:
    assert in_parts(full(3), 3) == [full(3)]
    assert in_parts(full(3), None) == [full(3)]


def test_a_longer_list_is_a_full_part_then_differentials_of_the_same_version() -> None:
    parts = in_parts(full(5), 2)
    assert [
        (p["updateType"], p["listVersion"], len(p["localAuthorizationList"])) for p in parts
    ] == [("Full", 7, 2), ("Differential", 7, 2), ("Differential", 7, 1)]
    assert [e for p in parts for e in p["localAuthorizationList"]] == full(5)[
        "localAuthorizationList"
    ]

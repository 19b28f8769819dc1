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


def test_a_longer_list_is_a_full_part_then_differentials_and_only_the_last_has_the_version() -> (
    None
):
    parts = in_parts(full(5), 2)
    assert [
        (p["updateType"], p["listVersion"], len(p["localAuthorizationList"])) for p in parts
    ] == [("Full", 6, 2), ("Differential", 6, 2), ("Differential", 7, 1)]
    entries = [e for p in parts for e in p["localAuthorizationList"]]
    assert entries == full(5)["localAuthorizationList"]


def test_a_differential_in_parts_keeps_its_type_and_2_0_1_its_version_field() -> None:
    request = {
        "versionNumber": 1,
        "updateType": "Differential",
        "localAuthorizationList": [
            {"idToken": {"idToken": f"T{i}", "type": "Local"}} for i in range(3)
        ],
    }
    parts = in_parts(request, 2)
    assert [(p["updateType"], p["versionNumber"]) for p in parts] == [
        ("Differential", 0),
        ("Differential", 1),
    ]

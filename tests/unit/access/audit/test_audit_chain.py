"""The chain walker and the export lines, on rows made by hand."""

from __future__ import annotations

import base64
from uuid import uuid4

from services.access.audit.export import Exporter
from services.access.audit.store import StoredRow
from services.access.audit.verify import ChainWalker
from services.access.store.chain import GENESIS, link

TOPIC = "services.access.domain.user:User.UserRegistered"


def chain(count: int) -> list[StoredRow]:
    rows, previous = [], GENESIS
    for position in range(1, count + 1):
        aggregate, state = uuid4(), f'{{"n": {position}}}'.encode()
        previous = link(previous, position, aggregate, 1, TOPIC, state)
        rows.append(StoredRow(position, aggregate, 1, TOPIC, state, previous))
    return rows


def walk(rows: list[StoredRow]) -> ChainWalker:
    walker = ChainWalker()
    for row in rows:
        if not walker.feed(row):
            break
    return walker


def test_an_intact_chain_verifies_to_its_last_link():
    rows = chain(5)
    verdict = walk(rows).verdict()
    assert verdict.ok
    assert verdict.count == 5
    assert verdict.last_hash == rows[-1].hash.hex()


def test_an_altered_state_is_named_by_position():
    rows = chain(5)
    r = rows[2]
    rows[2] = StoredRow(r.position, r.originator_id, 1, TOPIC, b'{"n": 99}', r.hash)
    verdict = walk(rows).verdict()
    assert not verdict.ok
    assert verdict.broken_at == 3
    assert verdict.count == 2


def test_a_missing_event_or_link_is_named_by_position():
    rows = chain(4)
    r = rows[1]
    without_event = [*rows[:1], StoredRow(r.position, None, None, None, None, r.hash), *rows[2:]]
    without_link = [*rows[:1], StoredRow(r.position, r.originator_id, 1, TOPIC, r.state, None)]
    assert walk(without_event).verdict().broken_at == 2
    assert walk(without_link).verdict().broken_at == 2


def test_export_lines_carry_the_previous_link_so_a_slice_verifies_alone():
    import json

    rows = chain(3)
    exporter = Exporter()
    lines = [json.loads(exporter.line(row, None)) for row in rows]
    assert lines[0]["previous_hash"] == GENESIS.hex()
    assert lines[2]["previous_hash"] == lines[1]["hash"]
    assert base64.b64decode(lines[1]["state"]) == rows[1].state

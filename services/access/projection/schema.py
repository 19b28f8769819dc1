"""The read models' tables: what the query API reads, derived only from the event log.

Everything lives in one schema of its own so a rebuild can fill a fresh copy and swap
it in, and so dropping the read side can never touch the event store.

`access` is the materialised answer to "may user U use charger C": one row per pair
with the effective level and every reason (`why`). Its primary key serves per-user
lookups and the check; a second index serves per-charger lookups. A time-bound share
makes the answer depend on the moment asked: such a row has `timebound` set (its `level`
is then the highest any reason could give, `standing_level` what the reasons always in
effect give), and a reader evaluates the share's window from its `why` entry.

Columns added after a table's first version are added by `_ADDED` (ALTER TABLE ... IF NOT
EXISTS), so a database created by an older version gains them at its next start.
"""

from __future__ import annotations

from services.access.projection.sql import DEFAULT_SCHEMA, Connection, render
from services.access.projection.tables.local_lists import create_local_list_tables

PROJECTION_NAME = "access"
READ_MODELS_CHANNEL = "access_read_models"
"""NOTIFYed by each batch the projection commits to the read models' own schema: the
local-list publisher wakes on it wherever the projection runs (`eventlog/watch.py`)."""

_DDL = """
CREATE SCHEMA IF NOT EXISTS {s};

CREATE TABLE IF NOT EXISTS {s}.tracking (
    projection text PRIMARY KEY,
    position bigint NOT NULL
);

CREATE TABLE IF NOT EXISTS {s}.users (
    user_id uuid PRIMARY KEY,
    email text NOT NULL,
    phone text,
    name text,
    locale text NOT NULL
);

CREATE TABLE IF NOT EXISTS {s}.groups (
    group_id uuid PRIMARY KEY,
    name text NOT NULL,
    owner_id uuid NOT NULL,
    personal boolean NOT NULL
);

CREATE TABLE IF NOT EXISTS {s}.group_members (
    group_id uuid NOT NULL,
    user_id uuid NOT NULL,
    role text NOT NULL,
    PRIMARY KEY (group_id, user_id)
);
CREATE INDEX IF NOT EXISTS group_members_user ON {s}.group_members (user_id);

CREATE TABLE IF NOT EXISTS {s}.chargers (
    charger_id uuid PRIMARY KEY,
    serial_number text NOT NULL,
    name text,
    group_id uuid NOT NULL,
    owner_id uuid NOT NULL,
    connected boolean NOT NULL
);
CREATE INDEX IF NOT EXISTS chargers_group ON {s}.chargers (group_id, charger_id);
-- the OCPP gateway looks a connecting charger up by its serial number
CREATE INDEX IF NOT EXISTS chargers_serial ON {s}.chargers (serial_number);

CREATE TABLE IF NOT EXISTS {s}.shares (
    charger_id uuid NOT NULL,
    user_id uuid NOT NULL,
    level text NOT NULL,
    why jsonb NOT NULL,
    PRIMARY KEY (charger_id, user_id)
);

CREATE TABLE IF NOT EXISTS {s}.invitations (
    invitation_id uuid PRIMARY KEY,
    email text NOT NULL,
    level text NOT NULL,
    locale text NOT NULL,
    chargers jsonb NOT NULL,
    inviter_id uuid,
    status text NOT NULL,
    expires_at timestamptz NOT NULL,
    invited_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL,
    responded_by uuid,
    revoke_reason text
);

CREATE TABLE IF NOT EXISTS {s}.access (
    user_id uuid NOT NULL,
    charger_id uuid NOT NULL,
    level text NOT NULL,
    why jsonb NOT NULL,
    PRIMARY KEY (user_id, charger_id)
);
CREATE INDEX IF NOT EXISTS access_charger ON {s}.access (charger_id, user_id);

CREATE TABLE IF NOT EXISTS {s}.charger_history (
    charger_id uuid NOT NULL,
    position bigint NOT NULL,
    event_id uuid NOT NULL,
    type text NOT NULL,
    time timestamptz NOT NULL,
    actor text,
    command_id text,
    details jsonb NOT NULL,
    PRIMARY KEY (charger_id, position)
);

CREATE TABLE IF NOT EXISTS {s}.charge_keys (
    key_id uuid PRIMARY KEY,
    user_id uuid NOT NULL,
    id_token text NOT NULL,
    type text NOT NULL,
    label text,
    blocked boolean NOT NULL,
    added_at timestamptz NOT NULL
);
CREATE INDEX IF NOT EXISTS charge_keys_user ON {s}.charge_keys (user_id, key_id);
CREATE INDEX IF NOT EXISTS charge_keys_token ON {s}.charge_keys (id_token, type);

-- auditors' indexes: access rows with the interval each held in (until: null while it
-- holds), and the log's times and the ids each event names (projection/tables/positions.py)
CREATE TABLE IF NOT EXISTS {s}.access_history (
    charger_id uuid NOT NULL,
    user_id uuid NOT NULL,
    level text NOT NULL,
    why jsonb NOT NULL,
    from_position bigint NOT NULL,
    from_time timestamptz NOT NULL,
    until_position bigint,
    until_time timestamptz,
    PRIMARY KEY (charger_id, user_id, from_position)
);
CREATE INDEX IF NOT EXISTS access_history_user ON {s}.access_history (user_id, charger_id);
CREATE INDEX IF NOT EXISTS access_history_open ON {s}.access_history (charger_id, user_id)
    WHERE until_position IS NULL;

CREATE TABLE IF NOT EXISTS {s}.log_positions (
    position bigint PRIMARY KEY,
    time timestamptz NOT NULL,
    type text NOT NULL
);
CREATE INDEX IF NOT EXISTS log_positions_time ON {s}.log_positions (time, position);

CREATE TABLE IF NOT EXISTS {s}.id_positions (
    id text NOT NULL,
    position bigint NOT NULL,
    PRIMARY KEY (id, position)
);
"""

_ADDED = """
ALTER TABLE {s}.shares
    ADD COLUMN IF NOT EXISTS valid_from timestamptz,
    ADD COLUMN IF NOT EXISTS valid_until timestamptz,
    ADD COLUMN IF NOT EXISTS schedule jsonb,
    ADD COLUMN IF NOT EXISTS in_effect boolean NOT NULL DEFAULT true,
    ADD COLUMN IF NOT EXISTS effect_at timestamptz;

ALTER TABLE {s}.invitations
    ADD COLUMN IF NOT EXISTS valid_from timestamptz,
    ADD COLUMN IF NOT EXISTS valid_until timestamptz,
    ADD COLUMN IF NOT EXISTS schedule jsonb;

DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_attribute WHERE attrelid = '{s}.access'::regclass
                   AND attname = 'standing_level' AND NOT attisdropped) THEN
        -- Rows written before windows existed have only reasons always in effect.
        ALTER TABLE {s}.access ADD COLUMN standing_level text,
            ADD COLUMN timebound boolean NOT NULL DEFAULT false;
        UPDATE {s}.access SET standing_level = level;
    END IF;
END $$;

-- the timeline's indexes added after the first release (`_LATER_INDEX`) record here
-- from where each is complete
CREATE TABLE IF NOT EXISTS {s}.index_since (
    name text PRIMARY KEY,
    position bigint NOT NULL
);
"""

_LATER_INDEX = """
DO $$
BEGIN
    IF to_regclass('{s}.<table>') IS NULL THEN
        CREATE TABLE IF NOT EXISTS {s}.<table> (
            <key> text NOT NULL,
            position bigint NOT NULL,
            PRIMARY KEY (<key>, position)
        );
        INSERT INTO {s}.index_since (name, position)
        SELECT '<table>', coalesce(max(position), 0) FROM {s}.tracking
        WHERE projection = 'access'
        ON CONFLICT (name) DO UPDATE SET position = excluded.position;
    END IF;
END $$;
"""
"""A key → positions index the timeline reads, made empty in a database that had applied
events before it existed: it then records from where it is complete (`index_since`), and
the timeline answers from the log until the next rebuild."""

LATER_INDEXES = (("email_positions", "email_digest"), ("name_positions", "id"))
"""e-mail addresses (by digest) → the positions naming them; ids → the positions of the
events that give their names (the timeline's directory)."""


_START_TRACKING = """
INSERT INTO {s}.tracking (projection, position) VALUES ($1, 0) ON CONFLICT DO NOTHING"""


async def create_schema(conn: Connection, schema: str = DEFAULT_SCHEMA) -> None:
    """Create the read-model schema and tables if missing (safe to call at every start).

    Serialised with an advisory lock: concurrent `CREATE ... IF NOT EXISTS` statements
    from instances starting together can otherwise collide on the catalogue.
    """
    async with conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock(hashtext('charger-access.read-schema'))")
        await conn.execute(render(_DDL, schema))
        await conn.execute(render(_ADDED, schema))
        for table, key in LATER_INDEXES:
            await conn.execute(render(
                _LATER_INDEX.replace("<table>", table).replace("<key>", key), schema))
        await create_local_list_tables(conn, schema)
        await conn.execute(render(_START_TRACKING, schema), PROJECTION_NAME)

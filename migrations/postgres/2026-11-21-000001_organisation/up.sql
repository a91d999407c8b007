-- Organisation: the unit tree, people and the 三包 assignments, plus the append-only event log.
CREATE TABLE units (
    id TEXT PRIMARY KEY NOT NULL,
    parent_id TEXT REFERENCES units(id),
    level TEXT NOT NULL,
    kind TEXT,
    name TEXT NOT NULL,
    active BOOLEAN NOT NULL DEFAULT TRUE,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX units_parent_name ON units(parent_id, name);
-- NULL parents never collide in a plain unique index, so roots need their own.
CREATE UNIQUE INDEX units_root_name ON units(name) WHERE parent_id IS NULL;
CREATE INDEX units_level ON units(level);

CREATE TABLE people (
    id TEXT PRIMARY KEY NOT NULL,
    name TEXT NOT NULL,
    phone TEXT,
    email TEXT,
    title TEXT,
    active BOOLEAN NOT NULL DEFAULT TRUE,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE INDEX people_name ON people(name);

CREATE TABLE assignments (
    id TEXT PRIMARY KEY NOT NULL,
    person_id TEXT NOT NULL REFERENCES people(id),
    unit_id TEXT NOT NULL REFERENCES units(id),
    role TEXT NOT NULL,
    is_primary BOOLEAN NOT NULL DEFAULT FALSE,
    active BOOLEAN NOT NULL DEFAULT TRUE,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX assignments_person_unit_role ON assignments(person_id, unit_id, role);
CREATE INDEX assignments_unit_role ON assignments(unit_id, role);

CREATE TABLE events (
    id BIGSERIAL PRIMARY KEY,
    at TIMESTAMP NOT NULL,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    entity_type TEXT NOT NULL,
    entity_id TEXT NOT NULL,
    before_json TEXT,
    after_json TEXT,
    batch_id TEXT
);
CREATE INDEX events_entity ON events(entity_type, entity_id, id);

-- The log is evidence: the database itself refuses to rewrite it.
CREATE FUNCTION events_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'events are append-only';
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER events_no_update BEFORE UPDATE OR DELETE ON events
    FOR EACH ROW EXECUTE FUNCTION events_append_only();

-- Stored workflow versions, campaigns, their tasks, task comments and the notification outbox.

-- A campaign refers to the exact (id, version) it started with; the source is kept so the
-- running rules never depend on what is in the workflows directory today.
CREATE TABLE workflows (
    id TEXT NOT NULL,
    version TEXT NOT NULL,
    title TEXT NOT NULL,
    content_hash TEXT NOT NULL,
    source TEXT NOT NULL,
    file_name TEXT NOT NULL,
    loaded_at TIMESTAMP NOT NULL,
    loaded_by TEXT NOT NULL,
    PRIMARY KEY (id, version)
);

CREATE TABLE campaigns (
    id TEXT PRIMARY KEY NOT NULL,
    title TEXT NOT NULL,
    workflow_id TEXT NOT NULL,
    workflow_version TEXT NOT NULL,
    root_unit_id TEXT NOT NULL REFERENCES units(id),
    timezone TEXT NOT NULL,
    anchors_json TEXT NOT NULL,
    unit_anchors_json TEXT NOT NULL,
    params_json TEXT NOT NULL,
    status TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    created_by TEXT NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    FOREIGN KEY (workflow_id, workflow_version) REFERENCES workflows(id, version)
);

CREATE TABLE tasks (
    id TEXT PRIMARY KEY NOT NULL,
    campaign_id TEXT REFERENCES campaigns(id),
    kind TEXT NOT NULL,
    stage_id TEXT,
    step_id TEXT,
    unit_id TEXT NOT NULL REFERENCES units(id),
    occurrence BIGINT NOT NULL,
    title TEXT NOT NULL,
    owner_role TEXT,
    owner_id TEXT REFERENCES people(id),
    status TEXT NOT NULL,
    opens_at TIMESTAMP,
    due_at TIMESTAMP,
    due_after TEXT,
    statutory BOOLEAN NOT NULL,
    record_json TEXT,
    evidence_json TEXT,
    findings_json TEXT,
    note TEXT,
    status_reason TEXT,
    completed_at TIMESTAMP,
    completed_by TEXT,
    revision BIGINT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    created_by TEXT NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX tasks_campaign_step_unit ON tasks(campaign_id, step_id, unit_id, occurrence);
-- The scheduler reads only what is due; lists filter by owner and unit.
CREATE INDEX tasks_status_due ON tasks(status, due_at);
CREATE INDEX tasks_owner_status ON tasks(owner_id, status);
CREATE INDEX tasks_unit ON tasks(unit_id);

CREATE TABLE task_comments (
    id TEXT PRIMARY KEY NOT NULL,
    task_id TEXT NOT NULL REFERENCES tasks(id),
    author TEXT NOT NULL,
    body TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX task_comments_task ON task_comments(task_id, created_at);

-- Planned messages. Delivery (and its attempts) belongs to the mailer; the runtime only queues.
CREATE TABLE notifications (
    id TEXT PRIMARY KEY NOT NULL,
    kind TEXT NOT NULL,
    recipient_id TEXT REFERENCES people(id),
    campaign_id TEXT REFERENCES campaigns(id),
    task_id TEXT REFERENCES tasks(id),
    subject TEXT NOT NULL,
    payload_json TEXT NOT NULL,
    status TEXT NOT NULL,
    attempts BIGINT NOT NULL DEFAULT 0,
    created_at TIMESTAMP NOT NULL,
    sent_at TIMESTAMP,
    last_error TEXT
);
CREATE INDEX notifications_status ON notifications(status, created_at);

-- +goose Up
-- 0001: analyses, their rule hits, batches, tokens and the store's own secrets.
-- Times are Unix nanoseconds (UTC), 0 for none. seq orders records created in
-- the same nanosecond and is the keyset tie-breaker; id is the public uuid.

CREATE TABLE analyses (
	seq          INTEGER PRIMARY KEY AUTOINCREMENT,
	id           TEXT    NOT NULL UNIQUE,
	ecosystem    TEXT    NOT NULL,
	name         TEXT    NOT NULL,
	version      TEXT    NOT NULL,
	digest       TEXT    NOT NULL,
	rules        TEXT    NOT NULL,
	status       TEXT    NOT NULL,
	verdict      TEXT    NOT NULL,
	score        INTEGER NOT NULL,
	error        TEXT    NOT NULL,
	spec         TEXT    NOT NULL,
	artifact     TEXT    NOT NULL,
	trace_digest TEXT    NOT NULL,
	batch_id     TEXT    NOT NULL,
	webhook      TEXT    NOT NULL,
	submitted    INTEGER NOT NULL,
	updated      INTEGER NOT NULL,
	started      INTEGER NOT NULL,
	finished     INTEGER NOT NULL,
	attempts     INTEGER NOT NULL,
	hits         TEXT    NOT NULL, -- JSON []analysis.Hit
	phases       TEXT    NOT NULL, -- JSON []analysis.Phase
	sandbox      TEXT    NOT NULL  -- JSON analysis.Sandbox
);

-- One index per List filter, each ending in the page order (submitted, seq).
CREATE INDEX analyses_submitted ON analyses (submitted, seq);
CREATE INDEX analyses_ecosystem ON analyses (ecosystem, submitted, seq);
CREATE INDEX analyses_name      ON analyses (name, ecosystem, submitted, seq);
CREATE INDEX analyses_verdict   ON analyses (verdict, submitted, seq);
CREATE INDEX analyses_status    ON analyses (status, submitted, seq);
-- Find (de-duplication) and Versions.
CREATE INDEX analyses_key       ON analyses (ecosystem, name, version, rules);
-- CancelBatch.
CREATE INDEX analyses_batch     ON analyses (batch_id, status) WHERE batch_id != '';

-- The rules an analysis hit, one row per (rule, analysis), with the page
-- order copied so that a rule filter pages on this table's index alone.
CREATE TABLE hits (
	rule      TEXT    NOT NULL,
	submitted INTEGER NOT NULL,
	seq       INTEGER NOT NULL REFERENCES analyses (seq) ON DELETE CASCADE,
	PRIMARY KEY (rule, submitted, seq)
) WITHOUT ROWID;
CREATE INDEX hits_seq ON hits (seq);

CREATE TABLE batches (
	id        TEXT    PRIMARY KEY,
	kind      TEXT    NOT NULL,
	source    TEXT    NOT NULL,
	webhook   TEXT    NOT NULL,
	created   INTEGER NOT NULL,
	cancelled INTEGER NOT NULL
);

-- A batch's items are analysis ids; an item may be an analysis that another
-- submission or batch created (de-duplication), so there is no foreign key.
CREATE TABLE batch_items (
	batch_id    TEXT NOT NULL REFERENCES batches (id) ON DELETE CASCADE,
	analysis_id TEXT NOT NULL,
	PRIMARY KEY (batch_id, analysis_id)
) WITHOUT ROWID;

CREATE TABLE tokens (
	hash    BLOB    PRIMARY KEY,
	role    TEXT    NOT NULL,
	name    TEXT    NOT NULL,
	created INTEGER NOT NULL
);

-- Secrets of this database, such as the key that signs List cursors.
CREATE TABLE meta (
	key   TEXT PRIMARY KEY,
	value BLOB NOT NULL
);

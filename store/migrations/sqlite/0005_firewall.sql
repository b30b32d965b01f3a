-- +goose Up
-- 0005: the registry firewall's own state (proxy/). Times are Unix
-- nanoseconds.

-- The digest of every tarball the firewall fetched, recorded the first
-- time it saw it, with the registry integrity it was checked against:
-- bytes that later differ from it are refused.
CREATE TABLE firewall_tarballs (
	ecosystem  TEXT   NOT NULL,
	name       TEXT   NOT NULL,
	version    TEXT   NOT NULL,
	digest     TEXT   NOT NULL,
	integrity  TEXT   NOT NULL,
	first_seen BIGINT NOT NULL,
	PRIMARY KEY (ecosystem, name, version)
);

-- Admin overrides: allow or deny a package's versions (all of them, one,
-- or a semver range), with a reason and who set it.
CREATE TABLE firewall_overrides (
	id        TEXT   PRIMARY KEY,
	ecosystem TEXT   NOT NULL,
	name      TEXT   NOT NULL,
	versions  TEXT   NOT NULL,
	action    TEXT   NOT NULL,
	reason    TEXT   NOT NULL,
	who       TEXT   NOT NULL,
	created   BIGINT NOT NULL
);
CREATE INDEX firewall_overrides_package ON firewall_overrides (ecosystem, name);

-- The audit log: who asked for what, and what was admitted, held or
-- blocked and why.
CREATE TABLE firewall_audit (
	id        TEXT   PRIMARY KEY,
	at        BIGINT NOT NULL,
	who       TEXT   NOT NULL,
	ecosystem TEXT   NOT NULL,
	name      TEXT   NOT NULL,
	version   TEXT   NOT NULL,
	request   TEXT   NOT NULL,
	state     TEXT   NOT NULL,
	reason    TEXT   NOT NULL,
	analysis  TEXT   NOT NULL
);
CREATE INDEX firewall_audit_at      ON firewall_audit (at, id);
CREATE INDEX firewall_audit_package ON firewall_audit (ecosystem, name, at, id);

-- Where each registry changes feed the firewall follows stands: a restart
-- resumes there, with no gap.
CREATE TABLE firewall_feeds (
	feed    TEXT   PRIMARY KEY,
	seq     TEXT   NOT NULL,
	updated BIGINT NOT NULL
);

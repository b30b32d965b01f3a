-- +goose Up
-- 0002: a name filter pages on its own index (0001's name index led with
-- name, ecosystem and had to sort a name's records of both ecosystems), and
-- ecosystem and name together on theirs (sqlite/0002_package_indexes.sql).

DROP INDEX analyses_name;
CREATE INDEX analyses_name    ON analyses (name, submitted, seq);
CREATE INDEX analyses_package ON analyses (ecosystem, name, submitted, seq);

-- +goose Up
-- 0003: an analysis's coverage (analysis.Coverage as JSON): which of the
-- package's scripts ran and which entry points imported. Records completed
-- before it have none ('{}': an empty level).

ALTER TABLE analyses ADD COLUMN coverage TEXT NOT NULL DEFAULT '{}';

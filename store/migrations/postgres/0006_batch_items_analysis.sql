-- +goose Up
-- 0006: a batch item found by its analysis, for the firewall's monitor,
-- which follows the packages the organisation's lockfiles name.
CREATE INDEX batch_items_analysis ON batch_items (analysis_id);


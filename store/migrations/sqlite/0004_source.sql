-- +goose Up
-- 0004: where an analysed artifact came from. source is 'registry' (the
-- ecosystem's registry, fetched by a worker or by the registry firewall)
-- or 'upload' (an artifact a token uploaded; uploader is that token's
-- name). Records before it that carry an artifact were uploads.

ALTER TABLE analyses ADD COLUMN source TEXT NOT NULL DEFAULT 'registry';
ALTER TABLE analyses ADD COLUMN uploader TEXT NOT NULL DEFAULT '';
UPDATE analyses SET source = 'upload' WHERE artifact != '';

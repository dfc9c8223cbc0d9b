-- Snapshots of instances (Nova's createImage): an image being written by a
-- compute host shows how far its upload got, and only the host holding the
-- snapshot's one-time secret (its SHA-256 is kept here) may upload it.

ALTER TABLE images ADD COLUMN progress INT NOT NULL DEFAULT 0;
ALTER TABLE images ADD COLUMN upload_secret_hash CHAR(64) NOT NULL DEFAULT '';

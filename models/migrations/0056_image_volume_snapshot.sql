-- A snapshot of a volume-backed instance (Nova's createImage on one) is an
-- image without data whose block_device_mapping names a volume snapshot:
-- it becomes active when that snapshot is available, killed when it fails.

ALTER TABLE images ADD COLUMN volume_snapshot_id CHAR(36) NOT NULL DEFAULT '';
CREATE INDEX ix_images_volume_snapshot ON images (volume_snapshot_id);

-- Shelving (Nova's shelve/unshelve): a shelved instance's root disk lives on
-- as a snapshot image until it is unshelved, booted from that image on the
-- host the scheduler picks, and the image is then removed. Empty when the
-- instance is not shelved, or boots from a volume (nothing to snapshot).

ALTER TABLE instances ADD COLUMN shelved_image_id VARCHAR(36) NOT NULL DEFAULT '';

-- "shelved_offloaded" is 17 characters.
{{mysql_only}}ALTER TABLE instances MODIFY vm_state VARCHAR(32) NOT NULL;

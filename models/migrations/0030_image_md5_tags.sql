-- What the OpenStack image API shows besides Stratus' SHA-256: Glance's
-- legacy MD5 "checksum" (clients print it and older ones verify downloads
-- with it) and an image's tags (free-form labels a tenant filters by).

ALTER TABLE images ADD COLUMN checksum_md5 CHAR(32) NOT NULL DEFAULT '';
ALTER TABLE images ADD COLUMN tags {{text}} NULL;

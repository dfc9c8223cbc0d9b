-- The language a user chose for the web console (issue 14): a BCP 47 tag
-- of one of its catalogues ("en", "ko"), or '' to follow the browser's
-- Accept-Language.
ALTER TABLE users ADD COLUMN locale VARCHAR(16) NOT NULL DEFAULT '';

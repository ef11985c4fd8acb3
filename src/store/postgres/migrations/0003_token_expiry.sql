-- scimkit PostgresStore schema, version 3: tokens that expire (setup links and sessions).
-- Tokens from version 2 have none: they stay valid until revoked.
ALTER TABLE {s}.tokens ADD COLUMN expires timestamptz;

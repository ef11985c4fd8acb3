-- scimkit PostgresStore schema, version 2: a directory's name, identity provider, state,
-- last request time and mappings, as the directory's JSON document. `id`,
-- `organization_id` and `is_primary` stay columns (indexed and constrained) and win over
-- the document. A directory from version 1 has no document and reads as active: it was
-- already serving.
ALTER TABLE {s}.directories ADD COLUMN doc jsonb;

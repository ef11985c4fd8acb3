-- scimkit PostgresStore schema, version 6: a `user.roles_changed` entry carries the user's
-- roles before and after, as `{"before": [...], "after": [...]}`; other entries have none.
ALTER TABLE {s}.changes ADD COLUMN roles jsonb;

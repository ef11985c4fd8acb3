-- Changes that carry the object: each change-log entry stores the user and/or group as of
-- that change (both on membership changes), as the JSON of scimkit's `User` / `Group`.
-- NULL for entries written before this migration and for kinds without one. Adding
-- nullable columns without a default rewrites nothing.
ALTER TABLE {s}.changes
    ADD COLUMN user_snapshot  jsonb,
    ADD COLUMN group_snapshot jsonb;

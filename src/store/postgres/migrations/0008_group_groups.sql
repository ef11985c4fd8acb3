-- scimkit PostgresStore schema, version 8: nested groups. A row says `child_id` is a
-- member group of `parent_id`; like `memberships`, rows go with either group when it is
-- erased, and are kept when a group is only marked deleted (walks skip deleted groups).
-- The primary key answers a directory's edges and a parent's children; the index by
-- child answers a group's parents.
CREATE TABLE {s}.group_groups (
    directory_id text COLLATE "C" NOT NULL,
    parent_id    text COLLATE "C" NOT NULL REFERENCES {s}.groups (id) ON DELETE CASCADE,
    child_id     text COLLATE "C" NOT NULL REFERENCES {s}.groups (id) ON DELETE CASCADE,
    PRIMARY KEY (directory_id, parent_id, child_id)
);
CREATE INDEX group_groups_by_child ON {s}.group_groups (directory_id, child_id, parent_id);
-- The member group a `group.member_added` / `group.member_removed` entry is about (NULL
-- for user members and every other kind).
ALTER TABLE {s}.changes ADD COLUMN member_group_id text;

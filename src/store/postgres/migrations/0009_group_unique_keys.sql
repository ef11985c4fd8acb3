-- scimkit PostgresStore schema, version 9: the values of declared unique Group
-- extension attributes each group that is not deleted holds, apart from users' values
-- (`user_unique_keys`), so a user and a group may hold the same one. The primary key is
-- the uniqueness rule, so two transactions claiming one value serialise on it, even
-- across processes; rows go with their group (or directory) when it is erased.
CREATE TABLE {s}.group_unique_keys (
    directory_id text COLLATE "C" NOT NULL,
    attribute    text COLLATE "C" NOT NULL,
    value        text COLLATE "C" NOT NULL,
    group_id     text COLLATE "C" NOT NULL REFERENCES {s}.groups (id) ON DELETE CASCADE,
    PRIMARY KEY (directory_id, attribute, value)
);
CREATE INDEX group_unique_keys_of_group ON {s}.group_unique_keys (group_id);

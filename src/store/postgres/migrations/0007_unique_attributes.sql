-- scimkit PostgresStore schema, version 7: the values of declared unique extension
-- attributes each active user holds. The primary key is the uniqueness rule, so two
-- transactions claiming one value serialise on it, even across processes; rows go with
-- their user (or directory) when it is erased.
CREATE TABLE {s}.user_unique_keys (
    directory_id text COLLATE "C" NOT NULL,
    attribute    text COLLATE "C" NOT NULL,
    value        text COLLATE "C" NOT NULL,
    user_id      text COLLATE "C" NOT NULL REFERENCES {s}.users (id) ON DELETE CASCADE,
    PRIMARY KEY (directory_id, attribute, value)
);
CREATE INDEX user_unique_keys_of_user ON {s}.user_unique_keys (user_id);

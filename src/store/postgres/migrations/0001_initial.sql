-- scimkit PostgresStore schema, version 1. `{s}` is the vendor's schema, quoted.
-- Ids are compared and ordered bytewise (COLLATE "C") so keyset paging matches id order
-- whatever the database's default collation is.

CREATE TABLE {s}.organizations (
    id          text COLLATE "C" PRIMARY KEY,
    external_id text,
    doc         jsonb NOT NULL,
    CONSTRAINT organizations_external_id_key UNIQUE (external_id)
);

CREATE TABLE {s}.directories (
    id              text COLLATE "C" PRIMARY KEY,
    organization_id text COLLATE "C" NOT NULL REFERENCES {s}.organizations (id),
    is_primary      boolean NOT NULL
);
CREATE INDEX directories_organization ON {s}.directories (organization_id, id);
CREATE UNIQUE INDEX directories_one_primary ON {s}.directories (organization_id) WHERE is_primary;

-- One row per directory: the last `seq` handed out. Writers lock it (UPDATE) as the last
-- step before commit, so `seq` order is commit order and has no gaps.
CREATE TABLE {s}.change_counters (
    directory_id    text COLLATE "C" PRIMARY KEY REFERENCES {s}.directories (id) ON DELETE CASCADE,
    last_seq        bigint NOT NULL DEFAULT 0,
    trimmed_through bigint NOT NULL DEFAULT 0
);

CREATE TABLE {s}.users (
    id            text COLLATE "C" PRIMARY KEY,
    directory_id  text COLLATE "C" NOT NULL REFERENCES {s}.directories (id) ON DELETE CASCADE,
    state         text NOT NULL CHECK (state IN ('active', 'deactivated', 'deleted')),
    user_name_key text NOT NULL,
    external_id   text,
    email         text,
    attributes    jsonb NOT NULL,
    created       timestamptz NOT NULL,
    last_modified timestamptz NOT NULL,
    version       bigint NOT NULL
);
-- INCLUDE (state): listing by state and skipping rows for startIndex paging can be
-- answered from the index alone.
CREATE UNIQUE INDEX users_by_directory ON {s}.users (directory_id, id) INCLUDE (state);
-- userName is unique among active users of a directory, enforced here even across processes.
CREATE UNIQUE INDEX users_active_user_name ON {s}.users (directory_id, user_name_key)
    WHERE state = 'active';
CREATE INDEX users_user_name ON {s}.users (directory_id, user_name_key, id);
CREATE INDEX users_external_id ON {s}.users (directory_id, external_id, id);

CREATE TABLE {s}.user_emails (
    user_id      text COLLATE "C" NOT NULL REFERENCES {s}.users (id) ON DELETE CASCADE,
    directory_id text COLLATE "C" NOT NULL,
    email        text NOT NULL,
    PRIMARY KEY (user_id, email)
);
CREATE INDEX user_emails_lookup ON {s}.user_emails (directory_id, email, user_id);

CREATE TABLE {s}.groups (
    id               text COLLATE "C" PRIMARY KEY,
    directory_id     text COLLATE "C" NOT NULL REFERENCES {s}.directories (id) ON DELETE CASCADE,
    deleted          boolean NOT NULL,
    display_name     text NOT NULL,
    display_name_key text NOT NULL,
    external_id      text,
    attributes       jsonb NOT NULL,
    created          timestamptz NOT NULL,
    last_modified    timestamptz NOT NULL,
    version          bigint NOT NULL
);
CREATE UNIQUE INDEX groups_by_directory ON {s}.groups (directory_id, id) INCLUDE (deleted);
CREATE INDEX groups_display_name ON {s}.groups (directory_id, display_name_key, id);
CREATE INDEX groups_external_id ON {s}.groups (directory_id, external_id, id);

-- Members are a relation, indexed both ways; a member edit touches only its rows.
CREATE TABLE {s}.memberships (
    group_id     text COLLATE "C" NOT NULL REFERENCES {s}.groups (id) ON DELETE CASCADE,
    user_id      text COLLATE "C" NOT NULL REFERENCES {s}.users (id) ON DELETE CASCADE,
    directory_id text COLLATE "C" NOT NULL,
    PRIMARY KEY (group_id, user_id)
);
CREATE INDEX memberships_by_user ON {s}.memberships (user_id, group_id);

CREATE TABLE {s}.changes (
    directory_id text COLLATE "C" NOT NULL REFERENCES {s}.directories (id) ON DELETE CASCADE,
    seq          bigint NOT NULL,
    kind         text NOT NULL,
    resource_id  text NOT NULL,
    member_id    text,
    at           timestamptz NOT NULL,
    PRIMARY KEY (directory_id, seq)
);

-- Only the SHA-256 of a secret is stored.
CREATE TABLE {s}.tokens (
    id      text COLLATE "C" PRIMARY KEY,
    hash    bytea NOT NULL,
    scope   text COLLATE "C" NOT NULL,
    created timestamptz NOT NULL,
    CONSTRAINT tokens_hash_key UNIQUE (hash)
);
CREATE INDEX tokens_by_scope ON {s}.tokens (scope, id);

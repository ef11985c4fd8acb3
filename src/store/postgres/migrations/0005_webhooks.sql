-- Webhook delivery state: per (endpoint, directory) the seq of the last change the
-- endpoint is done with, and the changes it gave up on (with the body as sent, so a
-- replay survives change-log trimming). Endpoints are names the dispatcher is given; a
-- purged directory's rows go with it.
CREATE TABLE {s}.webhook_cursors (
    endpoint     text COLLATE "C" NOT NULL,
    directory_id text COLLATE "C" NOT NULL,
    seq          bigint NOT NULL,
    PRIMARY KEY (endpoint, directory_id)
);

CREATE TABLE {s}.webhook_dead_letters (
    endpoint     text COLLATE "C" NOT NULL,
    directory_id text COLLATE "C" NOT NULL,
    seq          bigint NOT NULL,
    body         text NOT NULL,
    attempts     integer NOT NULL,
    last_error   text NOT NULL,
    failed_at    timestamptz NOT NULL,
    PRIMARY KEY (endpoint, directory_id, seq)
);

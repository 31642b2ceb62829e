-- +goose Up
-- The frozen population again, packed for the draw (see postgres/00017).
CREATE TABLE campaign_population_blocks (
    campaign_id INTEGER NOT NULL REFERENCES campaigns (id),
    block_no    INTEGER NOT NULL,
    stratum     TEXT NOT NULL,
    n           INTEGER NOT NULL CHECK (n > 0),
    codes       BLOB NOT NULL,
    PRIMARY KEY (campaign_id, block_no)
);

-- +goose Up
-- The frozen population again, packed for the draw: per stratum, blocks of
-- credit codes each followed by a line feed. The draw reads every code of
-- a campaign once; reading 10 million rows of campaign_population cost the
-- database more CPU than the draw's own ranking, a few thousand blocks
-- almost none. Written in the commit's transaction from the same rows, and
-- never changed. A campaign committed before this version has none: its
-- draw writes them first (store.ensurePopulationBlocks).
CREATE TABLE campaign_population_blocks (
    campaign_id BIGINT NOT NULL REFERENCES campaigns (id),
    block_no    INTEGER NOT NULL,
    stratum     TEXT NOT NULL,
    n           INTEGER NOT NULL CHECK (n > 0),
    codes       BYTEA NOT NULL,
    PRIMARY KEY (campaign_id, block_no)
);
-- Out of line but not compressed: credit codes compress poorly, and the
-- draw would pay for the decompression.
ALTER TABLE campaign_population_blocks ALTER COLUMN codes SET STORAGE EXTERNAL;

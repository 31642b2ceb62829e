-- +goose Up
-- PostgreSQL replaces its row-by-row foreign key from draw_selections to
-- campaigns with a check per statement (see postgres/00005). SQLite keeps
-- its foreign key: changing it would mean rebuilding the table, and its
-- check is cheap there. Nothing to do.
SELECT 1;

-- +goose Up
-- PostgreSQL's statement-level campaign check of draw_selections asks once
-- per distinct campaign (see postgres/00020). SQLite keeps its foreign key
-- (see sqlite/00005). Nothing to do.
SELECT 1;

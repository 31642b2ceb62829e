-- +goose Up
-- PostgreSQL checks the packet, device and inspector of answers once per
-- statement (see postgres/00018). SQLite keeps its foreign keys. Nothing
-- to do.
SELECT 1;

-- +goose Up
-- The statement-level campaign check of 00005 asked, for every inserted
-- row, whether its campaign exists: 1.5 million index probes for a draw of
-- 10 million. The rows of one statement name one campaign or a few, so
-- the check now asks once per distinct campaign. Same rule, same error.
-- +goose StatementBegin
CREATE OR REPLACE FUNCTION draw_selections_check_campaign() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM (SELECT DISTINCT campaign_id FROM new_selections) n
               WHERE NOT EXISTS (SELECT 1 FROM campaigns c WHERE c.id = n.campaign_id)) THEN
        RAISE EXCEPTION 'insert or update on table "draw_selections" names a campaign that does not exist'
            USING ERRCODE = 'foreign_key_violation';
    END IF;
    RETURN NULL;
END
$$;
-- +goose StatementEnd

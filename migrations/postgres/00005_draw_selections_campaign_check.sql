-- +goose Up
-- A draw writes its selections in one COPY (150,000 rows for 15% of a
-- million). The foreign key from draw_selections to campaigns ran one
-- lookup query per row, which cost more than writing the rows and their
-- primary key together. The same rule is now checked once per statement:
-- every row a statement inserts or updates must name an existing campaign
-- (a foreign-key violation otherwise, SQLSTATE 23503, as before), and a
-- campaign that has selections can neither be deleted nor change its id.
ALTER TABLE draw_selections DROP CONSTRAINT draw_selections_campaign_id_fkey;

-- +goose StatementBegin
CREATE FUNCTION draw_selections_check_campaign() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM new_selections n WHERE NOT EXISTS (SELECT 1 FROM campaigns c WHERE c.id = n.campaign_id)) THEN
        RAISE EXCEPTION 'insert or update on table "draw_selections" names a campaign that does not exist'
            USING ERRCODE = 'foreign_key_violation';
    END IF;
    RETURN NULL;
END
$$;
-- +goose StatementEnd

CREATE TRIGGER draw_selections_campaign_insert AFTER INSERT ON draw_selections
    REFERENCING NEW TABLE AS new_selections FOR EACH STATEMENT EXECUTE FUNCTION draw_selections_check_campaign();
CREATE TRIGGER draw_selections_campaign_update AFTER UPDATE ON draw_selections
    REFERENCING NEW TABLE AS new_selections FOR EACH STATEMENT EXECUTE FUNCTION draw_selections_check_campaign();

-- +goose StatementBegin
CREATE FUNCTION campaigns_keep_selections() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM draw_selections s WHERE s.campaign_id = OLD.id) THEN
        RAISE EXCEPTION 'update or delete on table "campaigns" would orphan its draw_selections'
            USING ERRCODE = 'foreign_key_violation';
    END IF;
    IF TG_OP = 'DELETE' THEN
        RETURN OLD;
    END IF;
    RETURN NEW;
END
$$;
-- +goose StatementEnd

CREATE TRIGGER campaigns_keep_selections_delete BEFORE DELETE ON campaigns
    FOR EACH ROW EXECUTE FUNCTION campaigns_keep_selections();
CREATE TRIGGER campaigns_keep_selections_update BEFORE UPDATE OF id ON campaigns
    FOR EACH ROW WHEN (OLD.id IS DISTINCT FROM NEW.id) EXECUTE FUNCTION campaigns_keep_selections();

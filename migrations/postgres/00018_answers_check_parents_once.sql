-- +goose Up
-- A device-day's push copies about 1,300 answers in one statement, and
-- PostgreSQL checked each row's three foreign keys (its packet, device and
-- inspector) one lookup at a time: 3,900 lookups, two thirds of the COPY's
-- time. The rows of one push name a few packets, one device and one
-- inspector, so the rule is now checked once per statement and distinct
-- value, as draw_selections' is (00005, 00020): every answer a statement
-- inserts or updates must name an existing packet, device and inspector (a
-- foreign-key violation otherwise, SQLSTATE 23503, as before), and a
-- packet, device or inspector that answers name can neither be deleted nor
-- change its id.
ALTER TABLE answers DROP CONSTRAINT answers_packet_id_fkey;
ALTER TABLE answers DROP CONSTRAINT answers_device_id_fkey;
ALTER TABLE answers DROP CONSTRAINT answers_inspector_id_fkey;

-- +goose StatementBegin
CREATE FUNCTION answers_check_parents() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM (SELECT DISTINCT packet_id FROM new_answers) n
               WHERE NOT EXISTS (SELECT 1 FROM packets p WHERE p.id = n.packet_id)) THEN
        RAISE EXCEPTION 'insert or update on table "answers" names a packet that does not exist'
            USING ERRCODE = 'foreign_key_violation';
    END IF;
    IF EXISTS (SELECT 1 FROM (SELECT DISTINCT device_id FROM new_answers) n
               WHERE NOT EXISTS (SELECT 1 FROM devices d WHERE d.id = n.device_id)) THEN
        RAISE EXCEPTION 'insert or update on table "answers" names a device that does not exist'
            USING ERRCODE = 'foreign_key_violation';
    END IF;
    IF EXISTS (SELECT 1 FROM (SELECT DISTINCT inspector_id FROM new_answers) n
               WHERE NOT EXISTS (SELECT 1 FROM inspectors i WHERE i.id = n.inspector_id)) THEN
        RAISE EXCEPTION 'insert or update on table "answers" names an inspector that does not exist'
            USING ERRCODE = 'foreign_key_violation';
    END IF;
    RETURN NULL;
END
$$;
-- +goose StatementEnd

CREATE TRIGGER answers_parents_insert AFTER INSERT ON answers
    REFERENCING NEW TABLE AS new_answers FOR EACH STATEMENT EXECUTE FUNCTION answers_check_parents();
CREATE TRIGGER answers_parents_update AFTER UPDATE ON answers
    REFERENCING NEW TABLE AS new_answers FOR EACH STATEMENT EXECUTE FUNCTION answers_check_parents();

-- +goose StatementBegin
CREATE FUNCTION keep_answers() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF (TG_TABLE_NAME = 'packets' AND EXISTS (SELECT 1 FROM answers a WHERE a.packet_id = OLD.id))
        OR (TG_TABLE_NAME = 'devices' AND EXISTS (SELECT 1 FROM answers a WHERE a.device_id = OLD.id))
        OR (TG_TABLE_NAME = 'inspectors' AND EXISTS (SELECT 1 FROM answers a WHERE a.inspector_id = OLD.id)) THEN
        RAISE EXCEPTION 'update or delete on table "%" would orphan answers', TG_TABLE_NAME
            USING ERRCODE = 'foreign_key_violation';
    END IF;
    IF TG_OP = 'DELETE' THEN
        RETURN OLD;
    END IF;
    RETURN NEW;
END
$$;
-- +goose StatementEnd

CREATE TRIGGER packets_keep_answers_delete BEFORE DELETE ON packets
    FOR EACH ROW EXECUTE FUNCTION keep_answers();
CREATE TRIGGER packets_keep_answers_update BEFORE UPDATE OF id ON packets
    FOR EACH ROW WHEN (OLD.id IS DISTINCT FROM NEW.id) EXECUTE FUNCTION keep_answers();
CREATE TRIGGER devices_keep_answers_delete BEFORE DELETE ON devices
    FOR EACH ROW EXECUTE FUNCTION keep_answers();
CREATE TRIGGER devices_keep_answers_update BEFORE UPDATE OF id ON devices
    FOR EACH ROW WHEN (OLD.id IS DISTINCT FROM NEW.id) EXECUTE FUNCTION keep_answers();
CREATE TRIGGER inspectors_keep_answers_delete BEFORE DELETE ON inspectors
    FOR EACH ROW EXECUTE FUNCTION keep_answers();
CREATE TRIGGER inspectors_keep_answers_update BEFORE UPDATE OF id ON inspectors
    FOR EACH ROW WHEN (OLD.id IS DISTINCT FROM NEW.id) EXECUTE FUNCTION keep_answers();

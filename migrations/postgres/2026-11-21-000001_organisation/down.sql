DROP TRIGGER events_no_update ON events;
DROP FUNCTION events_append_only();
DROP TABLE events;
DROP TABLE assignments;
DROP TABLE people;
DROP TABLE units;

DROP TRIGGER events_no_delete;
DROP TRIGGER events_no_update;
DROP TABLE events;
DROP TABLE assignments;
DROP TABLE people;
DROP TABLE units;

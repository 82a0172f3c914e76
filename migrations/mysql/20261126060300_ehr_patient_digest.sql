-- Modify "ehr_records" table
ALTER TABLE `ehr_records` ADD COLUMN `digest` varchar(64) NOT NULL DEFAULT '';

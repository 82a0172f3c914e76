-- Disable the enforcement of foreign-keys constraints
PRAGMA foreign_keys = off;
-- Create "new_ehr_records" table
CREATE TABLE `new_ehr_records` (`id` text NOT NULL, `created_at` datetime NOT NULL, `updated_at` datetime NOT NULL, `kind` text NOT NULL, `local_key` text NOT NULL, `external_id` text NOT NULL, `digest` text NOT NULL DEFAULT (''), PRIMARY KEY (`id`));
-- Copy rows from old table "ehr_records" to new temporary table "new_ehr_records"
INSERT INTO `new_ehr_records` (`id`, `created_at`, `updated_at`, `kind`, `local_key`, `external_id`) SELECT `id`, `created_at`, `updated_at`, `kind`, `local_key`, `external_id` FROM `ehr_records`;
-- Drop "ehr_records" table after copying rows
DROP TABLE `ehr_records`;
-- Rename temporary table "new_ehr_records" to "ehr_records"
ALTER TABLE `new_ehr_records` RENAME TO `ehr_records`;
-- Create index "ehrrecord_kind_local_key" to table: "ehr_records"
CREATE UNIQUE INDEX `ehrrecord_kind_local_key` ON `ehr_records` (`kind`, `local_key`);
-- Enable back the enforcement of foreign-keys constraints
PRAGMA foreign_keys = on;

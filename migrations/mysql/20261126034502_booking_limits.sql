-- Modify "appointments" table
ALTER TABLE `appointments` ADD COLUMN `day_key` varchar(10) NOT NULL DEFAULT '';
-- Create "holder_hold_counts" table
CREATE TABLE `holder_hold_counts` (`id` varchar(32) NOT NULL, `created_at` datetime(6) NOT NULL, `updated_at` datetime(6) NOT NULL, `holder_key` varchar(64) NOT NULL, `holds` bigint NOT NULL DEFAULT 0, PRIMARY KEY (`id`), UNIQUE INDEX `holderholds_holder_key` (`holder_key`)) CHARSET utf8mb4 COLLATE utf8mb4_bin;
-- Create "practitioner_day_counts" table
CREATE TABLE `practitioner_day_counts` (`id` varchar(32) NOT NULL, `created_at` datetime(6) NOT NULL, `updated_at` datetime(6) NOT NULL, `practitioner_id` varchar(32) NOT NULL, `service_id` varchar(32) NOT NULL, `day` varchar(10) NOT NULL, `appointments` bigint NOT NULL DEFAULT 0, PRIMARY KEY (`id`), UNIQUE INDEX `practitionerday_practitioner_id_service_id_day` (`practitioner_id`, `service_id`, `day`)) CHARSET utf8mb4 COLLATE utf8mb4_bin;

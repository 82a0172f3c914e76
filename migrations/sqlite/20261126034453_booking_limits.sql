-- Disable the enforcement of foreign-keys constraints
PRAGMA foreign_keys = off;
-- Create "new_appointments" table
CREATE TABLE `new_appointments` (`id` text NOT NULL, `created_at` datetime NOT NULL, `updated_at` datetime NOT NULL, `patient_id` text NULL, `guest_name` text NOT NULL DEFAULT (''), `guest_email` text NOT NULL DEFAULT (''), `guest_phone` text NOT NULL DEFAULT (''), `start_at` datetime NOT NULL, `end_at` datetime NOT NULL, `blocked_start` datetime NOT NULL, `blocked_end` datetime NOT NULL, `state` text NOT NULL, `hold_expires_at` datetime NULL, `holder_key` text NOT NULL DEFAULT (''), `day_key` text NOT NULL DEFAULT (''), `idempotency_key` text NULL, `price_amount` integer NOT NULL DEFAULT (0), `currency` text NOT NULL DEFAULT (''), `payment_intent_id` text NULL, `cancel_reason` text NOT NULL DEFAULT (''), `confirmed_at` datetime NULL, `cancelled_at` datetime NULL, `service_id` text NOT NULL, `practitioner_id` text NOT NULL, PRIMARY KEY (`id`), CONSTRAINT `appointments_services_service` FOREIGN KEY (`service_id`) REFERENCES `services` (`id`) ON DELETE NO ACTION, CONSTRAINT `appointments_practitioners_practitioner` FOREIGN KEY (`practitioner_id`) REFERENCES `practitioners` (`id`) ON DELETE NO ACTION);
-- Copy rows from old table "appointments" to new temporary table "new_appointments"
INSERT INTO `new_appointments` (`id`, `created_at`, `updated_at`, `patient_id`, `guest_name`, `guest_email`, `guest_phone`, `start_at`, `end_at`, `blocked_start`, `blocked_end`, `state`, `hold_expires_at`, `holder_key`, `idempotency_key`, `price_amount`, `currency`, `payment_intent_id`, `cancel_reason`, `confirmed_at`, `cancelled_at`, `service_id`, `practitioner_id`) SELECT `id`, `created_at`, `updated_at`, `patient_id`, `guest_name`, `guest_email`, `guest_phone`, `start_at`, `end_at`, `blocked_start`, `blocked_end`, `state`, `hold_expires_at`, `holder_key`, `idempotency_key`, `price_amount`, `currency`, `payment_intent_id`, `cancel_reason`, `confirmed_at`, `cancelled_at`, `service_id`, `practitioner_id` FROM `appointments`;
-- Drop "appointments" table after copying rows
DROP TABLE `appointments`;
-- Rename temporary table "new_appointments" to "appointments"
ALTER TABLE `new_appointments` RENAME TO `appointments`;
-- Create index "appointment_practitioner_id_blocked_start" to table: "appointments"
CREATE INDEX `appointment_practitioner_id_blocked_start` ON `appointments` (`practitioner_id`, `blocked_start`);
-- Create index "appointment_patient_id_start_at" to table: "appointments"
CREATE INDEX `appointment_patient_id_start_at` ON `appointments` (`patient_id`, `start_at`);
-- Create index "appointment_holder_key_state" to table: "appointments"
CREATE INDEX `appointment_holder_key_state` ON `appointments` (`holder_key`, `state`);
-- Create index "appointment_hold_expires_at" to table: "appointments"
CREATE INDEX `appointment_hold_expires_at` ON `appointments` (`hold_expires_at`);
-- Create index "appointment_idempotency_key" to table: "appointments"
CREATE UNIQUE INDEX `appointment_idempotency_key` ON `appointments` (`idempotency_key`);
-- Create index "appointment_payment_intent_id" to table: "appointments"
CREATE INDEX `appointment_payment_intent_id` ON `appointments` (`payment_intent_id`);
-- Create "holder_hold_counts" table
CREATE TABLE `holder_hold_counts` (`id` text NOT NULL, `created_at` datetime NOT NULL, `updated_at` datetime NOT NULL, `holder_key` text NOT NULL, `holds` integer NOT NULL DEFAULT (0), PRIMARY KEY (`id`));
-- Create index "holderholds_holder_key" to table: "holder_hold_counts"
CREATE UNIQUE INDEX `holderholds_holder_key` ON `holder_hold_counts` (`holder_key`);
-- Create "practitioner_day_counts" table
CREATE TABLE `practitioner_day_counts` (`id` text NOT NULL, `created_at` datetime NOT NULL, `updated_at` datetime NOT NULL, `practitioner_id` text NOT NULL, `service_id` text NOT NULL, `day` text NOT NULL, `appointments` integer NOT NULL DEFAULT (0), PRIMARY KEY (`id`));
-- Create index "practitionerday_practitioner_id_service_id_day" to table: "practitioner_day_counts"
CREATE UNIQUE INDEX `practitionerday_practitioner_id_service_id_day` ON `practitioner_day_counts` (`practitioner_id`, `service_id`, `day`);
-- Enable back the enforcement of foreign-keys constraints
PRAGMA foreign_keys = on;

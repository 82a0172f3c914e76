-- Create "appointments" table
CREATE TABLE `appointments` (`id` text NOT NULL, `created_at` datetime NOT NULL, `updated_at` datetime NOT NULL, `patient_id` text NULL, `guest_name` text NOT NULL DEFAULT (''), `guest_email` text NOT NULL DEFAULT (''), `guest_phone` text NOT NULL DEFAULT (''), `start_at` datetime NOT NULL, `end_at` datetime NOT NULL, `blocked_start` datetime NOT NULL, `blocked_end` datetime NOT NULL, `state` text NOT NULL, `hold_expires_at` datetime NULL, `holder_key` text NOT NULL DEFAULT (''), `idempotency_key` text NULL, `price_amount` integer NOT NULL DEFAULT (0), `currency` text NOT NULL DEFAULT (''), `payment_intent_id` text NULL, `cancel_reason` text NOT NULL DEFAULT (''), `confirmed_at` datetime NULL, `cancelled_at` datetime NULL, `service_id` text NOT NULL, `practitioner_id` text NOT NULL, PRIMARY KEY (`id`), CONSTRAINT `appointments_services_service` FOREIGN KEY (`service_id`) REFERENCES `services` (`id`) ON DELETE NO ACTION, CONSTRAINT `appointments_practitioners_practitioner` FOREIGN KEY (`practitioner_id`) REFERENCES `practitioners` (`id`) ON DELETE NO ACTION);
-- Create index "appointment_practitioner_id_blocked_start" to table: "appointments"
CREATE INDEX `appointment_practitioner_id_blocked_start` ON `appointments` (`practitioner_id`, `blocked_start`);
-- Create index "appointment_patient_id_start_at" to table: "appointments"
CREATE INDEX `appointment_patient_id_start_at` ON `appointments` (`patient_id`, `start_at`);
-- Create index "appointment_holder_key_state" to table: "appointments"
CREATE INDEX `appointment_holder_key_state` ON `appointments` (`holder_key`, `state`);
-- Create index "appointment_state_hold_expires_at" to table: "appointments"
CREATE INDEX `appointment_state_hold_expires_at` ON `appointments` (`state`, `hold_expires_at`);
-- Create index "appointment_idempotency_key" to table: "appointments"
CREATE UNIQUE INDEX `appointment_idempotency_key` ON `appointments` (`idempotency_key`);
-- Create index "appointment_payment_intent_id" to table: "appointments"
CREATE INDEX `appointment_payment_intent_id` ON `appointments` (`payment_intent_id`);
-- Create "appointment_state_changes" table
CREATE TABLE `appointment_state_changes` (`id` text NOT NULL, `created_at` datetime NOT NULL, `updated_at` datetime NOT NULL, `from_state` text NOT NULL DEFAULT (''), `to_state` text NOT NULL, `actor_id` text NOT NULL DEFAULT (''), `reason` text NOT NULL DEFAULT (''), `start_at` datetime NOT NULL, `appointment_id` text NOT NULL, PRIMARY KEY (`id`), CONSTRAINT `appointment_state_changes_appointments_history` FOREIGN KEY (`appointment_id`) REFERENCES `appointments` (`id`) ON DELETE CASCADE);
-- Create "date_overrides" table
CREATE TABLE `date_overrides` (`id` text NOT NULL, `created_at` datetime NOT NULL, `updated_at` datetime NOT NULL, `date` text NOT NULL, `kind` text NOT NULL, `start_minute` integer NULL, `end_minute` integer NULL, `reason` text NOT NULL DEFAULT (''), `practitioner_id` text NOT NULL, PRIMARY KEY (`id`), CONSTRAINT `date_overrides_practitioners_date_overrides` FOREIGN KEY (`practitioner_id`) REFERENCES `practitioners` (`id`) ON DELETE CASCADE);
-- Create index "dateoverride_practitioner_id_date" to table: "date_overrides"
CREATE INDEX `dateoverride_practitioner_id_date` ON `date_overrides` (`practitioner_id`, `date`);
-- Create "external_busy_blocks" table
CREATE TABLE `external_busy_blocks` (`id` text NOT NULL, `created_at` datetime NOT NULL, `updated_at` datetime NOT NULL, `start_at` datetime NOT NULL, `end_at` datetime NOT NULL, `source` text NOT NULL, `external_id` text NOT NULL, `practitioner_id` text NOT NULL, PRIMARY KEY (`id`), CONSTRAINT `external_busy_blocks_practitioners_practitioner` FOREIGN KEY (`practitioner_id`) REFERENCES `practitioners` (`id`) ON DELETE NO ACTION);
-- Create index "externalbusyblock_source_external_id" to table: "external_busy_blocks"
CREATE UNIQUE INDEX `externalbusyblock_source_external_id` ON `external_busy_blocks` (`source`, `external_id`);
-- Create index "externalbusyblock_practitioner_id_start_at" to table: "external_busy_blocks"
CREATE INDEX `externalbusyblock_practitioner_id_start_at` ON `external_busy_blocks` (`practitioner_id`, `start_at`);
-- Create "intake_forms" table
CREATE TABLE `intake_forms` (`id` text NOT NULL, `created_at` datetime NOT NULL, `updated_at` datetime NOT NULL, `key` text NOT NULL, `version` integer NOT NULL, `title` text NOT NULL, `description` text NOT NULL DEFAULT (''), `fields` json NOT NULL, PRIMARY KEY (`id`));
-- Create index "intakeform_key_version" to table: "intake_forms"
CREATE UNIQUE INDEX `intakeform_key_version` ON `intake_forms` (`key`, `version`);
-- Create "intake_submissions" table
CREATE TABLE `intake_submissions` (`id` text NOT NULL, `created_at` datetime NOT NULL, `updated_at` datetime NOT NULL, `answers` json NOT NULL, `submitted_by` text NOT NULL DEFAULT (''), `appointment_id` text NOT NULL, `form_id` text NOT NULL, PRIMARY KEY (`id`), CONSTRAINT `intake_submissions_appointments_intake_submission` FOREIGN KEY (`appointment_id`) REFERENCES `appointments` (`id`) ON DELETE CASCADE, CONSTRAINT `intake_submissions_intake_forms_form` FOREIGN KEY (`form_id`) REFERENCES `intake_forms` (`id`) ON DELETE NO ACTION);
-- Create index "intake_submissions_appointment_id_key" to table: "intake_submissions"
CREATE UNIQUE INDEX `intake_submissions_appointment_id_key` ON `intake_submissions` (`appointment_id`);
-- Create "practitioners" table
CREATE TABLE `practitioners` (`id` text NOT NULL, `created_at` datetime NOT NULL, `updated_at` datetime NOT NULL, `staff_user_id` text NULL, `name` text NOT NULL, `time_zone` text NOT NULL, `bio` text NOT NULL DEFAULT (''), `photo_url` text NOT NULL DEFAULT (''), `active` bool NOT NULL DEFAULT (true), PRIMARY KEY (`id`));
-- Create index "practitioner_staff_user_id" to table: "practitioners"
CREATE INDEX `practitioner_staff_user_id` ON `practitioners` (`staff_user_id`);
-- Create "services" table
CREATE TABLE `services` (`id` text NOT NULL, `created_at` datetime NOT NULL, `updated_at` datetime NOT NULL, `name` text NOT NULL, `slug` text NOT NULL, `description` text NOT NULL DEFAULT (''), `duration_minutes` integer NOT NULL, `price_amount` integer NOT NULL DEFAULT (0), `currency` text NOT NULL DEFAULT (''), `buffer_before_minutes` integer NOT NULL DEFAULT (0), `buffer_after_minutes` integer NOT NULL DEFAULT (0), `min_notice_minutes` integer NOT NULL DEFAULT (0), `horizon_days` integer NOT NULL DEFAULT (60), `slot_interval_minutes` integer NOT NULL DEFAULT (15), `daily_limit` integer NOT NULL DEFAULT (0), `location` text NOT NULL DEFAULT (''), `video_url` text NOT NULL DEFAULT (''), `cancel_cutoff_minutes` integer NOT NULL DEFAULT (0), `reschedule_cutoff_minutes` integer NOT NULL DEFAULT (0), `refund_on_cancel` bool NOT NULL DEFAULT (true), `intake_form_key` text NULL, `intake_required` bool NOT NULL DEFAULT (false), `requires_service_id` text NULL, `eligibility_scope` text NOT NULL DEFAULT ('ANY_PRACTITIONER'), `active` bool NOT NULL DEFAULT (true), PRIMARY KEY (`id`));
-- Create index "service_slug" to table: "services"
CREATE UNIQUE INDEX `service_slug` ON `services` (`slug`);
-- Create "practitioner_slot_claims" table
CREATE TABLE `practitioner_slot_claims` (`id` text NOT NULL, `practitioner_id` text NOT NULL, `slot_start_minute` integer NOT NULL, `appointment_id` text NOT NULL, PRIMARY KEY (`id`), CONSTRAINT `practitioner_slot_claims_appointments_appointment` FOREIGN KEY (`appointment_id`) REFERENCES `appointments` (`id`) ON DELETE CASCADE);
-- Create index "slotclaim_practitioner_id_slot_start_minute" to table: "practitioner_slot_claims"
CREATE UNIQUE INDEX `slotclaim_practitioner_id_slot_start_minute` ON `practitioner_slot_claims` (`practitioner_id`, `slot_start_minute`);
-- Create index "slotclaim_appointment_id" to table: "practitioner_slot_claims"
CREATE INDEX `slotclaim_appointment_id` ON `practitioner_slot_claims` (`appointment_id`);
-- Create "weekly_hours" table
CREATE TABLE `weekly_hours` (`id` text NOT NULL, `created_at` datetime NOT NULL, `updated_at` datetime NOT NULL, `weekday` integer NOT NULL, `start_minute` integer NOT NULL, `end_minute` integer NOT NULL, `practitioner_id` text NOT NULL, PRIMARY KEY (`id`), CONSTRAINT `weekly_hours_practitioners_weekly_hours` FOREIGN KEY (`practitioner_id`) REFERENCES `practitioners` (`id`) ON DELETE CASCADE);
-- Create index "weeklyhours_practitioner_id_weekday" to table: "weekly_hours"
CREATE INDEX `weeklyhours_practitioner_id_weekday` ON `weekly_hours` (`practitioner_id`, `weekday`);
-- Create "service_practitioners" table
CREATE TABLE `service_practitioners` (`service_id` text NOT NULL, `practitioner_id` text NOT NULL, PRIMARY KEY (`service_id`, `practitioner_id`), CONSTRAINT `service_practitioners_service_id` FOREIGN KEY (`service_id`) REFERENCES `services` (`id`) ON DELETE CASCADE, CONSTRAINT `service_practitioners_practitioner_id` FOREIGN KEY (`practitioner_id`) REFERENCES `practitioners` (`id`) ON DELETE CASCADE);

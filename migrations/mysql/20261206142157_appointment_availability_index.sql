-- Modify "appointments" table
ALTER TABLE `appointments` DROP INDEX `appointment_practitioner_id_blocked_start`, ADD INDEX `appointment_availability` (`practitioner_id`, `blocked_start`, `blocked_end`, `state`, `hold_expires_at`, `service_id`, `start_at`);

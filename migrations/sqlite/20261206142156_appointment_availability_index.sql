-- Drop index "appointment_practitioner_id_blocked_start" from table: "appointments"
DROP INDEX `appointment_practitioner_id_blocked_start`;
-- Create index "appointment_availability" to table: "appointments"
CREATE INDEX `appointment_availability` ON `appointments` (`practitioner_id`, `blocked_start`, `blocked_end`, `state`, `hold_expires_at`, `service_id`, `start_at`);

-- Modify "appointments" table
ALTER TABLE `appointments` DROP INDEX `appointment_state_hold_expires_at`, ADD INDEX `appointment_hold_expires_at` (`hold_expires_at`);

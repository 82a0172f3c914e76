-- Drop index "appointment_state_hold_expires_at" from table: "appointments"
DROP INDEX `appointment_state_hold_expires_at`;
-- Create index "appointment_hold_expires_at" to table: "appointments"
CREATE INDEX `appointment_hold_expires_at` ON `appointments` (`hold_expires_at`);

-- Create "jobs" table
CREATE TABLE `jobs` (`id` text NOT NULL, `created_at` datetime NOT NULL, `updated_at` datetime NOT NULL, `kind` text NOT NULL, `payload` json NULL, `state` text NOT NULL DEFAULT ('PENDING'), `attempts` integer NOT NULL DEFAULT (0), `max_attempts` integer NOT NULL DEFAULT (10), `run_at` datetime NOT NULL, `lease_owner` text NOT NULL DEFAULT (''), `lease_expires_at` datetime NULL, `idempotency_key` text NOT NULL, `last_error` text NOT NULL DEFAULT (''), `finished_at` datetime NULL, PRIMARY KEY (`id`));
-- Create index "job_idempotency_key" to table: "jobs"
CREATE UNIQUE INDEX `job_idempotency_key` ON `jobs` (`idempotency_key`);
-- Create index "job_state_run_at" to table: "jobs"
CREATE INDEX `job_state_run_at` ON `jobs` (`state`, `run_at`);
-- Create index "job_state_lease_expires_at" to table: "jobs"
CREATE INDEX `job_state_lease_expires_at` ON `jobs` (`state`, `lease_expires_at`);
-- Create index "job_kind_state_run_at" to table: "jobs"
CREATE INDEX `job_kind_state_run_at` ON `jobs` (`kind`, `state`, `run_at`);
-- Create "job_attempts" table
CREATE TABLE `job_attempts` (`id` text NOT NULL, `number` integer NOT NULL, `worker` text NOT NULL DEFAULT (''), `started_at` datetime NOT NULL, `finished_at` datetime NOT NULL, `error` text NOT NULL DEFAULT (''), `job_id` text NOT NULL, PRIMARY KEY (`id`), CONSTRAINT `job_attempts_jobs_attempt_log` FOREIGN KEY (`job_id`) REFERENCES `jobs` (`id`) ON DELETE CASCADE);
-- Create index "jobattempt_job_id_number" to table: "job_attempts"
CREATE INDEX `jobattempt_job_id_number` ON `job_attempts` (`job_id`, `number`);
-- Create "sent_messages" table
CREATE TABLE `sent_messages` (`id` text NOT NULL, `created_at` datetime NOT NULL, `updated_at` datetime NOT NULL, `channel` text NOT NULL, `kind` text NOT NULL, `recipient` text NOT NULL, `subject` text NOT NULL DEFAULT (''), `body_text` text NOT NULL DEFAULT (''), `body_html` text NOT NULL DEFAULT (''), `transport` text NOT NULL, `provider_id` text NOT NULL DEFAULT (''), `idempotency_key` text NOT NULL, PRIMARY KEY (`id`));
-- Create index "sentmessage_idempotency_key" to table: "sent_messages"
CREATE UNIQUE INDEX `sentmessage_idempotency_key` ON `sent_messages` (`idempotency_key`);
-- Create index "sentmessage_created_at" to table: "sent_messages"
CREATE INDEX `sentmessage_created_at` ON `sent_messages` (`created_at`);
-- Create index "sentmessage_recipient" to table: "sent_messages"
CREATE INDEX `sentmessage_recipient` ON `sent_messages` (`recipient`);

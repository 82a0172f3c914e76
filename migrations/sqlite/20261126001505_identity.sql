-- Disable the enforcement of foreign-keys constraints
PRAGMA foreign_keys = off;
-- Create "new_users" table
CREATE TABLE `new_users` (`id` text NOT NULL, `created_at` datetime NOT NULL, `updated_at` datetime NOT NULL, `email` text NOT NULL, `name` text NOT NULL DEFAULT (''), `role` text NOT NULL DEFAULT ('CUSTOMER'), `phone` text NULL, `password_hash` text NULL, `email_verified_at` datetime NULL, `deactivated_at` datetime NULL, PRIMARY KEY (`id`));
-- Copy rows from old table "users" to new temporary table "new_users"
INSERT INTO `new_users` (`id`, `created_at`, `updated_at`, `email`, `name`) SELECT `id`, `created_at`, `updated_at`, `email`, `name` FROM `users`;
-- Drop "users" table after copying rows
DROP TABLE `users`;
-- Rename temporary table "new_users" to "users"
ALTER TABLE `new_users` RENAME TO `users`;
-- Create index "user_email" to table: "users"
CREATE UNIQUE INDEX `user_email` ON `users` (`email`);
-- Create "api_keys" table
CREATE TABLE `api_keys` (`id` text NOT NULL, `created_at` datetime NOT NULL, `updated_at` datetime NOT NULL, `name` text NOT NULL, `prefix` text NOT NULL, `token_hash` text NOT NULL, `scopes` json NOT NULL, `expires_at` datetime NULL, `revoked_at` datetime NULL, `last_used_at` datetime NULL, `creator_id` text NOT NULL, PRIMARY KEY (`id`), CONSTRAINT `api_keys_users_creator` FOREIGN KEY (`creator_id`) REFERENCES `users` (`id`) ON DELETE NO ACTION);
-- Create index "apikey_token_hash" to table: "api_keys"
CREATE UNIQUE INDEX `apikey_token_hash` ON `api_keys` (`token_hash`);
-- Create index "apikey_creator_id" to table: "api_keys"
CREATE INDEX `apikey_creator_id` ON `api_keys` (`creator_id`);
-- Create "audit_entries" table
CREATE TABLE `audit_entries` (`id` text NOT NULL, `created_at` datetime NOT NULL, `actor_id` text NOT NULL DEFAULT (''), `api_key_id` text NOT NULL DEFAULT (''), `action` text NOT NULL, `target_type` text NOT NULL DEFAULT (''), `target_id` text NOT NULL DEFAULT (''), `before` json NULL, `after` json NULL, `request_id` text NOT NULL DEFAULT (''), PRIMARY KEY (`id`));
-- Create index "auditentry_created_at" to table: "audit_entries"
CREATE INDEX `auditentry_created_at` ON `audit_entries` (`created_at`);
-- Create index "auditentry_actor_id_created_at" to table: "audit_entries"
CREATE INDEX `auditentry_actor_id_created_at` ON `audit_entries` (`actor_id`, `created_at`);
-- Create index "auditentry_target_id_created_at" to table: "audit_entries"
CREATE INDEX `auditentry_target_id_created_at` ON `audit_entries` (`target_id`, `created_at`);
-- Create "one_time_tokens" table
CREATE TABLE `one_time_tokens` (`id` text NOT NULL, `created_at` datetime NOT NULL, `updated_at` datetime NOT NULL, `purpose` text NOT NULL, `token_hash` text NOT NULL, `email` text NOT NULL, `expires_at` datetime NOT NULL, `used_at` datetime NULL, `user_id` text NOT NULL, PRIMARY KEY (`id`), CONSTRAINT `one_time_tokens_users_user` FOREIGN KEY (`user_id`) REFERENCES `users` (`id`) ON DELETE NO ACTION);
-- Create index "onetimetoken_token_hash" to table: "one_time_tokens"
CREATE UNIQUE INDEX `onetimetoken_token_hash` ON `one_time_tokens` (`token_hash`);
-- Create "sessions" table
CREATE TABLE `sessions` (`id` text NOT NULL, `created_at` datetime NOT NULL, `updated_at` datetime NOT NULL, `token_hash` text NOT NULL, `expires_at` datetime NOT NULL, `last_used_at` datetime NOT NULL, `user_agent` text NOT NULL DEFAULT (''), `ip_address` text NOT NULL DEFAULT (''), `revoked_at` datetime NULL, `user_id` text NOT NULL, PRIMARY KEY (`id`), CONSTRAINT `sessions_users_user` FOREIGN KEY (`user_id`) REFERENCES `users` (`id`) ON DELETE NO ACTION);
-- Create index "session_token_hash" to table: "sessions"
CREATE UNIQUE INDEX `session_token_hash` ON `sessions` (`token_hash`);
-- Create index "session_user_id_revoked_at" to table: "sessions"
CREATE INDEX `session_user_id_revoked_at` ON `sessions` (`user_id`, `revoked_at`);
-- Enable back the enforcement of foreign-keys constraints
PRAGMA foreign_keys = on;

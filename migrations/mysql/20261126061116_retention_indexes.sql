-- Modify "carts" table
ALTER TABLE `carts` DROP INDEX `cart_user_id_order_id`, ADD INDEX `cart_user_id_order_id_updated_at` (`user_id`, `order_id`, `updated_at`);
-- Modify "one_time_tokens" table
ALTER TABLE `one_time_tokens` ADD INDEX `onetimetoken_expires_at` (`expires_at`), ADD INDEX `onetimetoken_used_at` (`used_at`);
-- Modify "sessions" table
ALTER TABLE `sessions` ADD INDEX `session_expires_at` (`expires_at`), ADD INDEX `session_last_used_at` (`last_used_at`), ADD INDEX `session_revoked_at` (`revoked_at`);
-- Modify "webhook_events" table
ALTER TABLE `webhook_events` ADD INDEX `webhookevent_created_at` (`created_at`);

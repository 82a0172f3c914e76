-- Create index "onetimetoken_expires_at" to table: "one_time_tokens"
CREATE INDEX `onetimetoken_expires_at` ON `one_time_tokens` (`expires_at`);
-- Create index "onetimetoken_used_at" to table: "one_time_tokens"
CREATE INDEX `onetimetoken_used_at` ON `one_time_tokens` (`used_at`);
-- Create index "session_expires_at" to table: "sessions"
CREATE INDEX `session_expires_at` ON `sessions` (`expires_at`);
-- Create index "session_revoked_at" to table: "sessions"
CREATE INDEX `session_revoked_at` ON `sessions` (`revoked_at`);
-- Create index "session_last_used_at" to table: "sessions"
CREATE INDEX `session_last_used_at` ON `sessions` (`last_used_at`);
-- Create index "webhookevent_created_at" to table: "webhook_events"
CREATE INDEX `webhookevent_created_at` ON `webhook_events` (`created_at`);
-- Drop index "cart_user_id_order_id" from table: "carts"
DROP INDEX `cart_user_id_order_id`;
-- Create index "cart_user_id_order_id_updated_at" to table: "carts"
CREATE INDEX `cart_user_id_order_id_updated_at` ON `carts` (`user_id`, `order_id`, `updated_at`);

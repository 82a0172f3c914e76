-- Create "users" table
CREATE TABLE `users` (`id` varchar(32) NOT NULL, `created_at` datetime(6) NOT NULL, `updated_at` datetime(6) NOT NULL, `email` varchar(254) NOT NULL, `name` varchar(200) NOT NULL DEFAULT '', PRIMARY KEY (`id`), UNIQUE INDEX `user_email` (`email`)) CHARSET utf8mb4 COLLATE utf8mb4_bin;

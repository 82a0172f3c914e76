-- Modify "products" table
ALTER TABLE `products` ADD INDEX `product_updated_at` (`updated_at`);

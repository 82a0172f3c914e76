-- Create index "product_updated_at" to table: "products"
CREATE INDEX `product_updated_at` ON `products` (`updated_at`);

-- Add column "trace_parent" to table: "jobs"
ALTER TABLE `jobs` ADD COLUMN `trace_parent` text NULL;

CREATE TABLE `settings` (
	`key` text PRIMARY KEY NOT NULL,
	`value` text NOT NULL
);
--> statement-breakpoint
ALTER TABLE `datasets` ADD `owner_id` text;--> statement-breakpoint
ALTER TABLE `datasets` ADD `shared_by_id` integer DEFAULT true NOT NULL;--> statement-breakpoint
CREATE INDEX `datasets_owner_idx` ON `datasets` (`owner_id`,`created_at`);--> statement-breakpoint
ALTER TABLE `sessions` ADD `owner_id` text;--> statement-breakpoint
ALTER TABLE `sessions` ADD `shared_by_id` integer DEFAULT true NOT NULL;--> statement-breakpoint
CREATE INDEX `sessions_owner_idx` ON `sessions` (`owner_id`,`created_at`);--> statement-breakpoint
CREATE INDEX `sessions_updated_idx` ON `sessions` (`updated_at`);
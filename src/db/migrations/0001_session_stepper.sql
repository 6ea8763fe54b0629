ALTER TABLE `sessions` ADD `current_step` integer DEFAULT 1 NOT NULL;--> statement-breakpoint
ALTER TABLE `sessions` ADD `step_progress` text;--> statement-breakpoint
ALTER TABLE `sessions` ADD `data_source` text;--> statement-breakpoint
ALTER TABLE `sessions` ADD `preprocessing_config` text;--> statement-breakpoint
ALTER TABLE `sessions` ADD `test_dataset_id` text;
CREATE TABLE `datasets` (
	`id` text PRIMARY KEY NOT NULL,
	`name` text NOT NULL,
	`file_name` text NOT NULL,
	`original_name` text,
	`mission` text,
	`label_column` text NOT NULL,
	`row_count` integer NOT NULL,
	`size_bytes` integer NOT NULL,
	`checksum` text NOT NULL,
	`created_at` integer NOT NULL
);
--> statement-breakpoint
CREATE TABLE `models` (
	`run_id` text PRIMARY KEY NOT NULL,
	`format` text NOT NULL,
	`bytes` blob NOT NULL,
	`size_bytes` integer NOT NULL,
	`created_at` integer NOT NULL,
	FOREIGN KEY (`run_id`) REFERENCES `training_runs`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE TABLE `prediction_rows` (
	`prediction_id` text NOT NULL,
	`row_index` integer NOT NULL,
	`ids` text NOT NULL,
	`label` text NOT NULL,
	`confidence` real NOT NULL,
	`probabilities` text NOT NULL,
	`warnings` text,
	PRIMARY KEY(`prediction_id`, `row_index`),
	FOREIGN KEY (`prediction_id`) REFERENCES `predictions`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE TABLE `predictions` (
	`id` text PRIMARY KEY NOT NULL,
	`run_id` text NOT NULL,
	`dataset_id` text,
	`source` text NOT NULL,
	`row_count` integer NOT NULL,
	`classes` text NOT NULL,
	`id_columns` text NOT NULL,
	`summary` text NOT NULL,
	`created_at` integer NOT NULL,
	FOREIGN KEY (`run_id`) REFERENCES `training_runs`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE INDEX `predictions_run_idx` ON `predictions` (`run_id`);--> statement-breakpoint
CREATE TABLE `progress_events` (
	`run_id` text NOT NULL,
	`seq` integer NOT NULL,
	`at` integer NOT NULL,
	`status` text NOT NULL,
	`stage` text NOT NULL,
	`progress` real NOT NULL,
	`step` integer NOT NULL,
	`total_steps` integer NOT NULL,
	`metrics` text,
	`message` text,
	PRIMARY KEY(`run_id`, `seq`),
	FOREIGN KEY (`run_id`) REFERENCES `training_runs`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE TABLE `sessions` (
	`id` text PRIMARY KEY NOT NULL,
	`dataset_id` text,
	`model_type` text,
	`hyperparameters` text NOT NULL,
	`features` text,
	`task` text NOT NULL,
	`train_share` real NOT NULL,
	`validation_share` real NOT NULL,
	`test_share` real NOT NULL,
	`seed` integer NOT NULL,
	`use_vetting_features` integer NOT NULL,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL
);
--> statement-breakpoint
CREATE TABLE `training_runs` (
	`id` text PRIMARY KEY NOT NULL,
	`session_id` text NOT NULL,
	`seq` integer NOT NULL,
	`status` text NOT NULL,
	`stage` text NOT NULL,
	`progress` real NOT NULL,
	`step` integer NOT NULL,
	`total_steps` integer NOT NULL,
	`message` text,
	`config` text NOT NULL,
	`dataset_id` text NOT NULL,
	`model_type` text NOT NULL,
	`dataset_checksum` text,
	`versions` text,
	`metrics` text,
	`feature_importance` text,
	`timings` text,
	`details` text,
	`error` text,
	`created_at` integer NOT NULL,
	`started_at` integer,
	`finished_at` integer,
	FOREIGN KEY (`session_id`) REFERENCES `sessions`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE INDEX `training_runs_session_idx` ON `training_runs` (`session_id`,`seq`);--> statement-breakpoint
CREATE INDEX `training_runs_status_idx` ON `training_runs` (`status`,`seq`);
CREATE TABLE "dataset_files" (
	"dataset_id" text PRIMARY KEY NOT NULL,
	"bytes" "bytea" NOT NULL,
	"size_bytes" integer NOT NULL,
	"checksum" text NOT NULL,
	"created_at" timestamp with time zone NOT NULL
);
--> statement-breakpoint
CREATE TABLE "datasets" (
	"id" text PRIMARY KEY NOT NULL,
	"name" text NOT NULL,
	"file_name" text NOT NULL,
	"original_name" text,
	"mission" text,
	"label_column" text NOT NULL,
	"row_count" integer NOT NULL,
	"size_bytes" integer NOT NULL,
	"checksum" text NOT NULL,
	"details" json,
	"preview" json,
	"created_at" timestamp with time zone NOT NULL
);
--> statement-breakpoint
CREATE TABLE "models" (
	"run_id" text PRIMARY KEY NOT NULL,
	"format" text NOT NULL,
	"bytes" "bytea" NOT NULL,
	"size_bytes" integer NOT NULL,
	"created_at" timestamp with time zone NOT NULL
);
--> statement-breakpoint
CREATE TABLE "prediction_rows" (
	"prediction_id" text NOT NULL,
	"row_index" integer NOT NULL,
	"ids" json NOT NULL,
	"label" text NOT NULL,
	"confidence" double precision NOT NULL,
	"probabilities" json NOT NULL,
	"warnings" json,
	CONSTRAINT "prediction_rows_prediction_id_row_index_pk" PRIMARY KEY("prediction_id","row_index")
);
--> statement-breakpoint
CREATE TABLE "predictions" (
	"id" text PRIMARY KEY NOT NULL,
	"run_id" text NOT NULL,
	"dataset_id" text,
	"source" text NOT NULL,
	"row_count" integer NOT NULL,
	"classes" json NOT NULL,
	"id_columns" json NOT NULL,
	"summary" json NOT NULL,
	"created_at" timestamp with time zone NOT NULL
);
--> statement-breakpoint
CREATE TABLE "progress_events" (
	"run_id" text NOT NULL,
	"seq" integer NOT NULL,
	"at" timestamp with time zone NOT NULL,
	"status" text NOT NULL,
	"stage" text NOT NULL,
	"progress" double precision NOT NULL,
	"step" integer NOT NULL,
	"total_steps" integer NOT NULL,
	"metrics" json,
	"message" text,
	CONSTRAINT "progress_events_run_id_seq_pk" PRIMARY KEY("run_id","seq")
);
--> statement-breakpoint
CREATE TABLE "sessions" (
	"id" text PRIMARY KEY NOT NULL,
	"dataset_id" text,
	"model_type" text,
	"hyperparameters" json NOT NULL,
	"features" json,
	"task" text NOT NULL,
	"train_share" double precision NOT NULL,
	"validation_share" double precision NOT NULL,
	"test_share" double precision NOT NULL,
	"seed" integer NOT NULL,
	"use_vetting_features" boolean NOT NULL,
	"current_step" integer DEFAULT 1 NOT NULL,
	"step_progress" json,
	"data_source" text,
	"preprocessing_config" json,
	"test_dataset_id" text,
	"created_at" timestamp with time zone NOT NULL,
	"updated_at" timestamp with time zone NOT NULL
);
--> statement-breakpoint
CREATE TABLE "training_runs" (
	"id" text PRIMARY KEY NOT NULL,
	"session_id" text NOT NULL,
	"seq" integer NOT NULL,
	"status" text NOT NULL,
	"stage" text NOT NULL,
	"progress" double precision NOT NULL,
	"step" integer NOT NULL,
	"total_steps" integer NOT NULL,
	"message" text,
	"config" json NOT NULL,
	"dataset_id" text NOT NULL,
	"model_type" text NOT NULL,
	"dataset_checksum" text,
	"versions" json,
	"metrics" json,
	"feature_importance" json,
	"timings" json,
	"details" json,
	"error" text,
	"attempt" integer DEFAULT 1 NOT NULL,
	"created_at" timestamp with time zone NOT NULL,
	"started_at" timestamp with time zone,
	"finished_at" timestamp with time zone
);
--> statement-breakpoint
ALTER TABLE "dataset_files" ADD CONSTRAINT "dataset_files_dataset_id_datasets_id_fk" FOREIGN KEY ("dataset_id") REFERENCES "public"."datasets"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "models" ADD CONSTRAINT "models_run_id_training_runs_id_fk" FOREIGN KEY ("run_id") REFERENCES "public"."training_runs"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "prediction_rows" ADD CONSTRAINT "prediction_rows_prediction_id_predictions_id_fk" FOREIGN KEY ("prediction_id") REFERENCES "public"."predictions"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "predictions" ADD CONSTRAINT "predictions_run_id_training_runs_id_fk" FOREIGN KEY ("run_id") REFERENCES "public"."training_runs"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "progress_events" ADD CONSTRAINT "progress_events_run_id_training_runs_id_fk" FOREIGN KEY ("run_id") REFERENCES "public"."training_runs"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "training_runs" ADD CONSTRAINT "training_runs_session_id_sessions_id_fk" FOREIGN KEY ("session_id") REFERENCES "public"."sessions"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "predictions_run_idx" ON "predictions" USING btree ("run_id");--> statement-breakpoint
CREATE INDEX "training_runs_session_idx" ON "training_runs" USING btree ("session_id","seq");--> statement-breakpoint
CREATE INDEX "training_runs_status_idx" ON "training_runs" USING btree ("status","seq");
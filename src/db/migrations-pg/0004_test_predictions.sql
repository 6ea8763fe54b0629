CREATE TABLE "test_predictions" (
	"run_id" text PRIMARY KEY NOT NULL,
	"row_count" integer NOT NULL,
	"predictions" json NOT NULL
);
--> statement-breakpoint
ALTER TABLE "test_predictions" ADD CONSTRAINT "test_predictions_run_id_training_runs_id_fk" FOREIGN KEY ("run_id") REFERENCES "public"."training_runs"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
-- Runs stored before this migration kept their held-out predictions in details.heldOut: move them here.
INSERT INTO "test_predictions" ("run_id", "row_count", "predictions")
SELECT "id", json_array_length("details"->'heldOut'->'rowIds'), "details"->'heldOut'
FROM "training_runs"
WHERE json_typeof("details"->'heldOut') = 'object' AND json_typeof("details"->'heldOut'->'rowIds') = 'array';
--> statement-breakpoint
UPDATE "training_runs" SET "details" = ("details"::jsonb - 'heldOut')::json
WHERE json_typeof("details") = 'object' AND "details"->'heldOut' IS NOT NULL;

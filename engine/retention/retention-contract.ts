/** What starts a retention run (workflows/retention-workflow.ts); ids and counts only cross Temporal. */
export interface RetentionInput {
  /** The instant the retention periods count back from (ISO 8601); null = when the run starts. */
  now: string | null;
  dryRun: boolean;
}

/** The workflow type of workflows/retention-workflow.ts. */
export const RETENTION_WORKFLOW_TYPE = 'retentionWorkflow';

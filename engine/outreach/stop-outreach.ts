import type { Client } from '@temporalio/client';
import { WorkflowNotFoundError } from '@temporalio/client';
import { stopSignal, type StopReason } from './outreach-contract';

/**
 * Ends running outreach at once with a reason (the workflow records it as the
 * outreach's end state: the `outreach.status` column and its `outreach-ended`
 * audit record). The one way a consent withdrawal, a move-out or a death stops
 * outreach. An outreach whose workflow is gone already is skipped; returns the
 * ids that were signalled.
 */
export async function stopOutreach(temporal: Client, outreachIds: readonly string[], reason: StopReason): Promise<string[]> {
  const stopped: string[] = [];
  for (const id of outreachIds) {
    try {
      await temporal.workflow.getHandle(id).signal(stopSignal, { reason });
      stopped.push(id);
    } catch (error) {
      if (!(error instanceof WorkflowNotFoundError)) throw error;
    }
  }
  return stopped;
}

import type { Client } from '@temporalio/client';
import type { Kysely } from 'kysely';
import type { Database } from '../store/schema';
import type { EngineConfig } from '../config/engine-config';
import type { NoticeRenderer } from '../engine/notices/render-notice';
import type { MailTransport } from '../channels/email/email';
import type { VapidKeys } from '../channels/push/web-push';
import type { ResponseLinks } from '../engine/outreach/response-links';
import type { OutreachIdKey } from '../engine/outreach/outreach-ids';
import type { OfficeDirectory } from '../config/offices';

/** What the activities need from the outside world; the worker builds it once. */
export interface ActivityDeps {
  db: Kysely<Database>;
  config: EngineConfig;
  renderer: NoticeRenderer;
  mail: MailTransport;
  vapid: VapidKeys;
  links: ResponseLinks;
  /** For activities that start outreach themselves (the daily evaluation). */
  temporal: Client;
  /** Makes the opaque ids of the outreach they start (engine/outreach/outreach-ids.ts). */
  outreachIdKey: OutreachIdKey;
  taskQueue: string;
  printOutboxDir: string;
  /** The city's offices (config/offices.yaml): each notice, letter sender block included, names its rule's office. */
  offices: OfficeDirectory;
}

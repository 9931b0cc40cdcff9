import type { Client } from '@temporalio/client';
import type { EngineContext } from '../runtime/engine-context';

/** What the HTTP routes use; built once by the composition root (runtime/create-engine.ts). */
export interface ServiceDeps {
  context: EngineContext;
  temporal: Client;
  taskQueue: string;
  msPerDay: number;
  /** The plan instant outreach plan clocks start at (demo, tests); undefined in production. */
  planClockOrigin?: string | undefined;
  /** Derives calling systems' secrets (service/auth/calling-systems.ts). */
  clientSecretPepper: string;
  /** The clock events are checked and evaluated against; the system clock unless a test fixes it. */
  now?: () => Date;
}

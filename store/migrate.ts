import { Migrator, type Kysely, type Migration, type MigrationProvider } from 'kysely';
import * as initial from './migrations/0001-initial';
import * as ruleLanguage from './migrations/0002-rule-language';
import * as consentLookup from './migrations/0003-consent-lookup';
import * as residentForeignKeys from './migrations/0004-resident-foreign-keys';
import * as emailDelivery from './migrations/0005-email-delivery';
import * as printBatches from './migrations/0006-print-batches';
import * as auditChain from './migrations/0007-audit-chain';
import * as staffSessions from './migrations/0008-staff-sessions';
import * as responseTokens from './migrations/0009-response-tokens';
import * as apiClients from './migrations/0010-api-clients';
import * as pushEnrolment from './migrations/0011-push-enrolment';
import * as deliveryTokens from './migrations/0012-delivery-tokens';
import * as consentRecords from './migrations/0013-consent-records';
import * as registerIntake from './migrations/0014-register-intake';
import * as relationshipProxyMode from './migrations/0015-relationship-proxy-mode';
import * as mergedNotices from './migrations/0016-merged-notices';
import * as proxyRecipients from './migrations/0017-proxy-recipients';
import * as taskHandling from './migrations/0018-task-handling';
import * as ruleApproval from './migrations/0019-rule-approval';
import * as grants from './migrations/0020-grants';
import * as parameterApproval from './migrations/0021-parameter-approval';
import * as staffMembers from './migrations/0022-staff-members';
import * as outreachOutbox from './migrations/0024-outreach-outbox';
import * as deliveryHandover from './migrations/0025-delivery-handover';
import type { Database } from './schema';

// Listed statically: a bundled or compiled build has no migrations folder to scan.
const MIGRATIONS: Record<string, Migration> = {
  '0001-initial': initial,
  '0002-rule-language': ruleLanguage,
  '0003-consent-lookup': consentLookup,
  '0004-resident-foreign-keys': residentForeignKeys,
  '0005-email-delivery': emailDelivery,
  '0006-print-batches': printBatches,
  '0007-audit-chain': auditChain,
  '0008-staff-sessions': staffSessions,
  '0009-response-tokens': responseTokens,
  '0010-api-clients': apiClients,
  '0011-push-enrolment': pushEnrolment,
  '0012-delivery-tokens': deliveryTokens,
  '0013-consent-records': consentRecords,
  '0014-register-intake': registerIntake,
  '0015-relationship-proxy-mode': relationshipProxyMode,
  '0016-merged-notices': mergedNotices,
  '0017-proxy-recipients': proxyRecipients,
  '0018-task-handling': taskHandling,
  '0019-rule-approval': ruleApproval,
  '0020-grants': grants,
  '0021-parameter-approval': parameterApproval,
  '0022-staff-members': staffMembers,
  '0024-outreach-outbox': outreachOutbox,
  '0025-delivery-handover': deliveryHandover,
};

const provider: MigrationProvider = { getMigrations: async () => MIGRATIONS };

export async function migrateToLatest(db: Kysely<Database>): Promise<void> {
  const migrator = new Migrator({ db, provider });
  const { error, results } = await migrator.migrateToLatest();
  const failed = results?.find((r) => r.status === 'Error');
  if (error || failed) {
    const reason = error instanceof Error ? error.message : String(error ?? 'unknown error');
    throw new Error(`database migration ${failed?.migrationName ?? ''} failed: ${reason}`);
  }
}

// A cloud process reduced to its webhook outbox, for alarm-webhooks.test.ts to kill -9 mid-delivery:
// opens the outbox table in MICHI_TEST_DB and delivers to MICHI_TEST_URL until killed.
import Database from 'better-sqlite3';
import pino from 'pino';
import { AlarmWebhooksSchema, resolveWebhooks } from '../src/alarms/webhook-config.js';
import { WebhookOutbox } from '../src/alarms/webhook-outbox.js';

const db = new Database(process.env['MICHI_TEST_DB']!);
db.pragma('journal_mode = WAL');
const webhooks = resolveWebhooks(
  AlarmWebhooksSchema.parse([
    { id: 'ops', url: process.env['MICHI_TEST_URL'], secretEnv: 'MICHI_TEST_WEBHOOK_SECRET', initialBackoffMs: 20 },
  ]),
  (ref) => (ref.startsWith('env:') ? process.env[ref.slice(4)] : undefined),
);
new WebhookOutbox(db, webhooks, { logger: pino({ level: 'silent' }) }).start();
process.stdout.write('started\n');

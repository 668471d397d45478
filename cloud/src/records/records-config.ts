/** The `records` section of the cloud's configuration (docs/records.md). */
import { z } from 'zod';

export const RecordsConfigSchema = z.strictObject({
  /** Keep the operating-state record (作動状態記録) of every vehicle. */
  enabled: z.boolean().default(true),
  /** SQLite database of the record; relative paths from the working directory (`make run`: the repository). */
  dbFile: z.string().min(1).default('.data/cloud/records.sqlite'),
  /** The heads file (each chain's newest length and hash); default: dbFile + ".heads.jsonl". Keep a copy elsewhere. */
  headsFile: z.string().min(1).optional(),
  /** Entries received longer ago are removed from the start of each chain; Japan's Road Traffic Act asks for six months. */
  retentionDays: z.number().positive().max(36_500).default(183),
});

export type RecordsConfig = z.infer<typeof RecordsConfigSchema>;

export function headsFileOf(records: RecordsConfig): string {
  return records.headsFile ?? `${records.dbFile}.heads.jsonl`;
}

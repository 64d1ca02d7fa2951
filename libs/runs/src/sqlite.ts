/**
 * The SQLite conventions of the orchestrators' stores (trainer runs, evaluator evaluations and sweeps): one database
 * file per service under its data directory, WAL (a killed process loses nothing committed; only a power loss can
 * drop the last transactions with synchronous = NORMAL), foreign keys on, and schema migrations versioned in code
 * through PRAGMA user_version (migration i brings version i to i + 1; a newer file is refused).
 */
import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';

export function openDatabase(dataDir: string, file: string, migrations: readonly string[], owner: string): { db: Database.Database; path: string } {
  mkdirSync(dataDir, { recursive: true });
  const path = join(dataDir, file);
  const db = new Database(path);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  db.pragma('foreign_keys = ON');
  const version = db.pragma('user_version', { simple: true }) as number;
  if (version > migrations.length) {
    db.close();
    throw new Error(`${path} has schema version ${version}, newer than this ${owner}'s ${migrations.length}: upgrade memorize`);
  }
  for (let v = version; v < migrations.length; v++) {
    db.transaction(() => {
      db.exec(migrations[v]);
      db.pragma(`user_version = ${v + 1}`);
    })();
  }
  return { db, path };
}

/** UPDATE `table` SET the given columns WHERE the `where` columns match (column names are the code's, never a client's). */
export function updateColumns(db: Database.Database, table: string, set: Record<string, unknown>, where: Record<string, unknown>): void {
  const columns = Object.keys(set);
  if (columns.length === 0) return;
  const params = Object.fromEntries([
    ...Object.entries(set).map(([k, v]) => [`set_${k}`, v]),
    ...Object.entries(where).map(([k, v]) => [`where_${k}`, v]),
  ]);
  const sql = `UPDATE ${table} SET ${columns.map((c) => `${c} = @set_${c}`).join(', ')} WHERE ${Object.keys(where)
    .map((c) => `${c} = @where_${c}`)
    .join(' AND ')}`;
  db.prepare(sql).run(params);
}

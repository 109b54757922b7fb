import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { SourceError } from '../../core/model/errors.js';

/**
 * Which files a path given to `credwatch scan` stands for. The reader and the CLI's progress total
 * both ask this, so the bar's 100 % is the bytes the reader will read.
 */

export interface InputFile {
  path: string;
  /** Bytes on disk (compressed bytes for a compressed file). */
  size: number;
}

export function unreadable(path: string, err: unknown): SourceError {
  const why = err instanceof Error ? err.message : String(err);
  return new SourceError('input-unreadable', `cannot read input ${path}: ${why}; check the path and its permissions`, { cause: err });
}

/**
 * The path itself, or the files below a folder, depth first in name order (the order they are
 * read, so findings and rejections come out the same on every machine). Inside a folder, names
 * starting with a dot are skipped: hidden files (.DS_Store, .git) are never exports. A hidden path
 * named outright is read. Throws `input-unreadable` naming the first path that cannot be listed
 * or stat'ed.
 */
export async function inputFiles(path: string): Promise<InputFile[]> {
  const out: InputFile[] = [];
  await addPath(path, out);
  return out;
}

async function addPath(path: string, out: InputFile[]): Promise<void> {
  let s;
  try {
    s = await stat(path);
  } catch (err) {
    throw unreadable(path, err);
  }
  if (s.isDirectory()) await walk(path, out);
  else out.push({ path, size: s.size });
}

async function walk(dir: string, out: InputFile[]): Promise<void> {
  let entries;
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch (err) {
    throw unreadable(dir, err);
  }
  entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (const entry of entries) {
    if (entry.name.startsWith('.')) continue;
    await addPath(join(dir, entry.name), out);
  }
}

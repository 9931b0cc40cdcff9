/**
 * Files that hold residents' personal data or the engine's secrets — letter
 * PDFs and print manifests, rehearsed notices, previews, generated keys — are
 * readable by the engine's own user only: 0600 files in 0700 folders. Created
 * with these modes (never widened and narrowed later), and a folder that
 * already exists is tightened, so a folder made by an earlier version or by
 * hand with the usual umask stops being listable by others.
 */
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { chmod, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

export const PRIVATE_FILE_MODE = 0o600;
export const PRIVATE_DIR_MODE = 0o700;

/** Creates `dir` (and any missing parents) for this user only; tightens it if it exists. */
export function ensurePrivateDir(dir: string): void {
  mkdirSync(dir, { recursive: true, mode: PRIVATE_DIR_MODE });
  chmodSync(dir, PRIVATE_DIR_MODE);
}

/** ensurePrivateDir without blocking the event loop (activities, request handlers). */
export async function makePrivateDir(dir: string): Promise<void> {
  await mkdir(dir, { recursive: true, mode: PRIVATE_DIR_MODE });
  await chmod(dir, PRIVATE_DIR_MODE);
}

/** Writes (or replaces) a file readable by this user only; its folder must be private already. */
export async function writePrivateFileAt(path: string, content: string | Uint8Array): Promise<void> {
  await writeFile(path, content, { mode: PRIVATE_FILE_MODE });
  // `mode` applies only when the file is created; a file left by an earlier run is tightened too.
  await chmod(path, PRIVATE_FILE_MODE);
}

/** Writes a file readable by this user only, in a folder that only this user may enter; returns its path. */
export function writePrivateFile(dir: string, fileName: string, content: string | Uint8Array): string {
  ensurePrivateDir(dir);
  const path = join(dir, fileName);
  writeFileSync(path, content, { mode: PRIVATE_FILE_MODE });
  chmodSync(path, PRIVATE_FILE_MODE);
  return path;
}

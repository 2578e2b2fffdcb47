import { fileURLToPath } from 'node:url';

/** Top-level folders of the repository, located from this file so any working directory works. */
export const ROOT_DIR = fileURLToPath(new URL('../../../', import.meta.url));
export const MIGRATIONS_DIR = fileURLToPath(new URL('../../../sql/', import.meta.url));
export const PROJECTIONS_DIR = fileURLToPath(new URL('../../../projections/', import.meta.url));

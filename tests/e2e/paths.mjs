// Where the browser tests find things: the repository, the built app, the fixture models and
// the models the tests generate. A module of its own so that helpers.mjs, models.mjs and
// reference.mjs can share it without importing one another.
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const here = dirname(fileURLToPath(import.meta.url));
export const root = resolve(here, '../..');
/** The built app: dist/, or ALBERT_DIST (a build kept apart, e.g. while another run uses dist/). */
export const dist = process.env.ALBERT_DIST ? resolve(process.env.ALBERT_DIST) : join(root, 'dist');
export const fixtures = join(root, 'crates/albert/tests/fixtures');
/** Where generated models live (served under /gen/ by the model server). */
export const generated = join(tmpdir(), 'albert-lens-e2e-models');

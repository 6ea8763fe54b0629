/** Assembles the schema: imports every type file, then builds. Exports nothing else. */
import { builder } from './builder.js';
import './health.js';
import './dataset.js';
import './model.js';
import './session.js';
import './training-run.js';
import './search.js';
import './prediction.js';
import './selection.js';
import './ensemble.js';

export const schema = builder.toSchema({ sortSchema: false });

import { builder } from '../builder.js';
import './strategy.js';
import './status.js';
import './config.js';
import './activation.js';
import './subscription.js';
import './audit.js';
import './history.js';
import './viewer.js';
import './signals.js';
import './presets.js';

/** The whole schema. Each area registers its types and fields on the shared builder when imported. */
export const schema = builder.toSchema({ sortSchema: false });

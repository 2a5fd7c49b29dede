// Prints the Pothos schema to schema.graphql (the committed contract; a test fails on drift).
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { printSchemaSDL } from '../src/graphql/print.js';

const target = fileURLToPath(new URL('../schema.graphql', import.meta.url));
writeFileSync(target, printSchemaSDL());
process.stdout.write(`wrote ${target}\n`);

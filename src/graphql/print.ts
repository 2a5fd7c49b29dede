import { printSchema } from 'graphql';
import { schema } from './schema/index.js';

/** The SDL as committed in schema.graphql. */
export function printSchemaSDL(): string {
  return `${printSchema(schema)}\n`;
}

import { createHash } from 'node:crypto';

/** `sha256:<hex>` of stored text: what status and the audit trail report beside a version. */
export function digestOf(text: string): string {
  return `sha256:${createHash('sha256').update(text).digest('hex')}`;
}

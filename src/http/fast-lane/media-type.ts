import { Lru } from '../../graphql/lru.js';

// yoga 5's accept.js (not exported), kept as it is so both paths pick the same media type.
function mediaTypesInOrder(accept: string | null): string[] {
  const accepts = (accept || '*/*').replace(/\s/g, '').toLowerCase().split(',');
  const mediaTypes: string[] = [];
  for (const entry of accepts) {
    const [mediaType, ...params] = entry.split(';');
    if (mediaType === undefined) continue;
    const charset = params.find((param) => param.includes('charset=')) || 'charset=utf-8';
    if (charset !== 'charset=utf-8') continue; // only utf-8 is supported
    mediaTypes.push(mediaType);
  }
  return mediaTypes.reverse();
}

function isMatchingMediaType(asked: string, offered: string): boolean {
  const [askedPre, askedSuf] = asked.split('/');
  const [pre, suf] = offered.split('/');
  return (pre === '*' || pre === askedPre) && (suf === '*' || suf === askedSuf);
}

/** What yoga's regular (single JSON result) processor answers with, in its order of preference. */
const REGULAR = ['application/graphql-response+json', 'application/json'] as const;
export type RegularMediaType = (typeof REGULAR)[number];

const chosen = new Lru<string, RegularMediaType | null>(64);

/**
 * The media type yoga would answer a single result with, for this Accept header (yoga's own
 * negotiation: its helpers, its order, so both paths pick the same one), or null when yoga would
 * pick another processor (SSE, multipart) or none: then the request is yoga's.
 */
export function regularMediaType(accept: string | undefined): RegularMediaType | null {
  const header = accept ?? '';
  const known = chosen.get(header);
  if (known !== undefined) return known;
  const asked = mediaTypesInOrder(accept ?? null);
  let result: RegularMediaType | null = null;
  for (const mediaType of asked) {
    for (const regular of REGULAR) if (isMatchingMediaType(regular, mediaType)) result = regular;
  }
  if (header.length <= 256) chosen.set(header, result);
  return result;
}

/** Yoga's JSON request parser's test: the first media type named is application/json (or application/graphql+json). */
export function isJsonContentType(contentType: string | undefined): boolean {
  if (contentType === undefined) return false;
  const comma = contentType.indexOf(',');
  const first = comma === -1 ? contentType : contentType.slice(0, comma);
  return (
    first === 'application/json' ||
    first.startsWith('application/json;') ||
    first === 'application/graphql+json' ||
    first.startsWith('application/graphql+json;')
  );
}

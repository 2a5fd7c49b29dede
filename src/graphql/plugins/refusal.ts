/** Why a GraphQL request was refused by a per-request limit (the metrics label, like the HTTP chain's reasons). */
export type DocumentRefusalReason = 'cost' | 'list-size' | 'response-too-large' | 'subscriptions-per-client';

/** Told of every such refusal. */
export type OnDocumentRefusal = (reason: DocumentRefusalReason) => void;

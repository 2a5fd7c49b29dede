/* eslint-disable */
import * as types from './graphql.js';
import type { TypedDocumentNode as DocumentNode } from '@graphql-typed-document-node/core';

/**
 * Map of all GraphQL operations in the project.
 *
 * This map has several performance disadvantages:
 * 1. It is not tree-shakeable, so it will include all operations in the project.
 * 2. It is not minifiable, so the string of a GraphQL query will be multiple times inside the bundle.
 * 3. It does not support dead code elimination, so it will add unused operations.
 *
 * Therefore it is highly recommended to use the babel or swc plugin for production.
 * Learn more about it here: https://the-guild.dev/graphql/codegen/plugins/presets/preset-client#reducing-bundle-size
 */
type Documents = {
    "mutation ActivateStrategy($strategyKey: String!, $expectedVersion: Int, $waitForRunner: Boolean, $timeoutMs: Int) {\n  activateStrategy(\n    strategyKey: $strategyKey\n    expectedVersion: $expectedVersion\n    waitForRunner: $waitForRunner\n    timeoutMs: $timeoutMs\n  ) {\n    activeStrategyKey\n    previousStrategyKey\n    configVersion\n    changed\n    runnerWait {\n      ...RunnerWaitFields\n    }\n  }\n}": typeof types.ActivateStrategyDocument,
    "fragment AuditEntryFields on AuditEntry {\n  time\n  actor\n  operation\n  subject\n  version\n  digest\n  changes {\n    field\n    before\n    after\n  }\n  details\n}": typeof types.AuditEntryFieldsFragmentDoc,
    "query AuditLog($last: Int, $subject: AuditSubject) {\n  auditLog(last: $last, subject: $subject) {\n    ...AuditEntryFields\n  }\n}": typeof types.AuditLogDocument,
    "query ConfigHistory($last: Int) {\n  configHistory(last: $last) {\n    ...AuditEntryFields\n    config {\n      ...RuntimeConfigFields\n    }\n  }\n}": typeof types.ConfigHistoryDocument,
    "mutation RollbackConfig($toVersion: Int!, $expectedVersion: Int, $waitForRunner: Boolean, $timeoutMs: Int) {\n  rollbackConfig(\n    toVersion: $toVersion\n    expectedVersion: $expectedVersion\n    waitForRunner: $waitForRunner\n    timeoutMs: $timeoutMs\n  ) {\n    rolledBackTo\n    changed\n    changedFields\n    config {\n      ...RuntimeConfigFields\n    }\n    runnerWait {\n      ...RunnerWaitFields\n    }\n  }\n}": typeof types.RollbackConfigDocument,
    "fragment RunnerInfo on RunnerStatus {\n  state\n  inSync\n  appliedConfigVersion\n  appliedStrategyKey\n  appliedAt\n  lastScanAt\n  heartbeatAt\n  error\n}": typeof types.RunnerInfoFragmentDoc,
    "fragment RuntimeConfigFields on RuntimeConfig {\n  activeStrategyKey\n  tradingEnabled\n  scanIntervalSeconds\n  tunableOverrides\n  version\n  updatedAt\n}\n\nfragment RunnerWaitFields on RunnerWait {\n  applied\n  timedOut\n  waitedMs\n  runnerState\n  message\n}": typeof types.RuntimeConfigFieldsFragmentDoc,
    "query Status {\n  status {\n    activeStrategyKey\n    configVersion\n    configUpdatedAt\n    configDigest\n    tradingEnabled\n    configError {\n      location\n      message\n    }\n    runner {\n      ...RunnerInfo\n    }\n  }\n  config {\n    ...RuntimeConfigFields\n  }\n}": typeof types.StatusDocument,
    "subscription StatusChanged {\n  statusChanged {\n    activeStrategyKey\n    configVersion\n    configDigest\n    configError {\n      location\n      message\n    }\n    runner {\n      ...RunnerInfo\n    }\n  }\n}": typeof types.StatusChangedDocument,
    "query Strategies($instrument: String, $riskLevel: RiskLevel, $sessionPreference: TradingSession) {\n  strategies(\n    instrument: $instrument\n    riskLevel: $riskLevel\n    sessionPreference: $sessionPreference\n  ) {\n    key\n    name\n    description\n    instruments\n    tunables\n    riskLevel\n    sessionPreference\n    isActive\n  }\n}": typeof types.StrategiesDocument,
    "query Strategy($key: String!) {\n  strategy(key: $key) {\n    key\n    name\n    description\n    instruments\n    tunables\n    effectiveTunables\n    riskLevel\n    sessionPreference\n    isActive\n  }\n}": typeof types.StrategyDocument,
    "mutation UpdateConfig($input: UpdateConfigInput!, $expectedVersion: Int, $waitForRunner: Boolean, $timeoutMs: Int) {\n  updateConfig(\n    input: $input\n    expectedVersion: $expectedVersion\n    waitForRunner: $waitForRunner\n    timeoutMs: $timeoutMs\n  ) {\n    changed\n    changedFields\n    config {\n      ...RuntimeConfigFields\n    }\n    runnerWait {\n      ...RunnerWaitFields\n    }\n  }\n}": typeof types.UpdateConfigDocument,
};
const documents: Documents = {
    "mutation ActivateStrategy($strategyKey: String!, $expectedVersion: Int, $waitForRunner: Boolean, $timeoutMs: Int) {\n  activateStrategy(\n    strategyKey: $strategyKey\n    expectedVersion: $expectedVersion\n    waitForRunner: $waitForRunner\n    timeoutMs: $timeoutMs\n  ) {\n    activeStrategyKey\n    previousStrategyKey\n    configVersion\n    changed\n    runnerWait {\n      ...RunnerWaitFields\n    }\n  }\n}": types.ActivateStrategyDocument,
    "fragment AuditEntryFields on AuditEntry {\n  time\n  actor\n  operation\n  subject\n  version\n  digest\n  changes {\n    field\n    before\n    after\n  }\n  details\n}": types.AuditEntryFieldsFragmentDoc,
    "query AuditLog($last: Int, $subject: AuditSubject) {\n  auditLog(last: $last, subject: $subject) {\n    ...AuditEntryFields\n  }\n}": types.AuditLogDocument,
    "query ConfigHistory($last: Int) {\n  configHistory(last: $last) {\n    ...AuditEntryFields\n    config {\n      ...RuntimeConfigFields\n    }\n  }\n}": types.ConfigHistoryDocument,
    "mutation RollbackConfig($toVersion: Int!, $expectedVersion: Int, $waitForRunner: Boolean, $timeoutMs: Int) {\n  rollbackConfig(\n    toVersion: $toVersion\n    expectedVersion: $expectedVersion\n    waitForRunner: $waitForRunner\n    timeoutMs: $timeoutMs\n  ) {\n    rolledBackTo\n    changed\n    changedFields\n    config {\n      ...RuntimeConfigFields\n    }\n    runnerWait {\n      ...RunnerWaitFields\n    }\n  }\n}": types.RollbackConfigDocument,
    "fragment RunnerInfo on RunnerStatus {\n  state\n  inSync\n  appliedConfigVersion\n  appliedStrategyKey\n  appliedAt\n  lastScanAt\n  heartbeatAt\n  error\n}": types.RunnerInfoFragmentDoc,
    "fragment RuntimeConfigFields on RuntimeConfig {\n  activeStrategyKey\n  tradingEnabled\n  scanIntervalSeconds\n  tunableOverrides\n  version\n  updatedAt\n}\n\nfragment RunnerWaitFields on RunnerWait {\n  applied\n  timedOut\n  waitedMs\n  runnerState\n  message\n}": types.RuntimeConfigFieldsFragmentDoc,
    "query Status {\n  status {\n    activeStrategyKey\n    configVersion\n    configUpdatedAt\n    configDigest\n    tradingEnabled\n    configError {\n      location\n      message\n    }\n    runner {\n      ...RunnerInfo\n    }\n  }\n  config {\n    ...RuntimeConfigFields\n  }\n}": types.StatusDocument,
    "subscription StatusChanged {\n  statusChanged {\n    activeStrategyKey\n    configVersion\n    configDigest\n    configError {\n      location\n      message\n    }\n    runner {\n      ...RunnerInfo\n    }\n  }\n}": types.StatusChangedDocument,
    "query Strategies($instrument: String, $riskLevel: RiskLevel, $sessionPreference: TradingSession) {\n  strategies(\n    instrument: $instrument\n    riskLevel: $riskLevel\n    sessionPreference: $sessionPreference\n  ) {\n    key\n    name\n    description\n    instruments\n    tunables\n    riskLevel\n    sessionPreference\n    isActive\n  }\n}": types.StrategiesDocument,
    "query Strategy($key: String!) {\n  strategy(key: $key) {\n    key\n    name\n    description\n    instruments\n    tunables\n    effectiveTunables\n    riskLevel\n    sessionPreference\n    isActive\n  }\n}": types.StrategyDocument,
    "mutation UpdateConfig($input: UpdateConfigInput!, $expectedVersion: Int, $waitForRunner: Boolean, $timeoutMs: Int) {\n  updateConfig(\n    input: $input\n    expectedVersion: $expectedVersion\n    waitForRunner: $waitForRunner\n    timeoutMs: $timeoutMs\n  ) {\n    changed\n    changedFields\n    config {\n      ...RuntimeConfigFields\n    }\n    runnerWait {\n      ...RunnerWaitFields\n    }\n  }\n}": types.UpdateConfigDocument,
};

/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 *
 *
 * @example
 * ```ts
 * const query = graphql(`query GetUser($id: ID!) { user(id: $id) { name } }`);
 * ```
 *
 * The query argument is unknown!
 * Please regenerate the types.
 */
export function graphql(source: string): unknown;

/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "mutation ActivateStrategy($strategyKey: String!, $expectedVersion: Int, $waitForRunner: Boolean, $timeoutMs: Int) {\n  activateStrategy(\n    strategyKey: $strategyKey\n    expectedVersion: $expectedVersion\n    waitForRunner: $waitForRunner\n    timeoutMs: $timeoutMs\n  ) {\n    activeStrategyKey\n    previousStrategyKey\n    configVersion\n    changed\n    runnerWait {\n      ...RunnerWaitFields\n    }\n  }\n}"): (typeof documents)["mutation ActivateStrategy($strategyKey: String!, $expectedVersion: Int, $waitForRunner: Boolean, $timeoutMs: Int) {\n  activateStrategy(\n    strategyKey: $strategyKey\n    expectedVersion: $expectedVersion\n    waitForRunner: $waitForRunner\n    timeoutMs: $timeoutMs\n  ) {\n    activeStrategyKey\n    previousStrategyKey\n    configVersion\n    changed\n    runnerWait {\n      ...RunnerWaitFields\n    }\n  }\n}"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "fragment AuditEntryFields on AuditEntry {\n  time\n  actor\n  operation\n  subject\n  version\n  digest\n  changes {\n    field\n    before\n    after\n  }\n  details\n}"): (typeof documents)["fragment AuditEntryFields on AuditEntry {\n  time\n  actor\n  operation\n  subject\n  version\n  digest\n  changes {\n    field\n    before\n    after\n  }\n  details\n}"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "query AuditLog($last: Int, $subject: AuditSubject) {\n  auditLog(last: $last, subject: $subject) {\n    ...AuditEntryFields\n  }\n}"): (typeof documents)["query AuditLog($last: Int, $subject: AuditSubject) {\n  auditLog(last: $last, subject: $subject) {\n    ...AuditEntryFields\n  }\n}"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "query ConfigHistory($last: Int) {\n  configHistory(last: $last) {\n    ...AuditEntryFields\n    config {\n      ...RuntimeConfigFields\n    }\n  }\n}"): (typeof documents)["query ConfigHistory($last: Int) {\n  configHistory(last: $last) {\n    ...AuditEntryFields\n    config {\n      ...RuntimeConfigFields\n    }\n  }\n}"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "mutation RollbackConfig($toVersion: Int!, $expectedVersion: Int, $waitForRunner: Boolean, $timeoutMs: Int) {\n  rollbackConfig(\n    toVersion: $toVersion\n    expectedVersion: $expectedVersion\n    waitForRunner: $waitForRunner\n    timeoutMs: $timeoutMs\n  ) {\n    rolledBackTo\n    changed\n    changedFields\n    config {\n      ...RuntimeConfigFields\n    }\n    runnerWait {\n      ...RunnerWaitFields\n    }\n  }\n}"): (typeof documents)["mutation RollbackConfig($toVersion: Int!, $expectedVersion: Int, $waitForRunner: Boolean, $timeoutMs: Int) {\n  rollbackConfig(\n    toVersion: $toVersion\n    expectedVersion: $expectedVersion\n    waitForRunner: $waitForRunner\n    timeoutMs: $timeoutMs\n  ) {\n    rolledBackTo\n    changed\n    changedFields\n    config {\n      ...RuntimeConfigFields\n    }\n    runnerWait {\n      ...RunnerWaitFields\n    }\n  }\n}"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "fragment RunnerInfo on RunnerStatus {\n  state\n  inSync\n  appliedConfigVersion\n  appliedStrategyKey\n  appliedAt\n  lastScanAt\n  heartbeatAt\n  error\n}"): (typeof documents)["fragment RunnerInfo on RunnerStatus {\n  state\n  inSync\n  appliedConfigVersion\n  appliedStrategyKey\n  appliedAt\n  lastScanAt\n  heartbeatAt\n  error\n}"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "fragment RuntimeConfigFields on RuntimeConfig {\n  activeStrategyKey\n  tradingEnabled\n  scanIntervalSeconds\n  tunableOverrides\n  version\n  updatedAt\n}\n\nfragment RunnerWaitFields on RunnerWait {\n  applied\n  timedOut\n  waitedMs\n  runnerState\n  message\n}"): (typeof documents)["fragment RuntimeConfigFields on RuntimeConfig {\n  activeStrategyKey\n  tradingEnabled\n  scanIntervalSeconds\n  tunableOverrides\n  version\n  updatedAt\n}\n\nfragment RunnerWaitFields on RunnerWait {\n  applied\n  timedOut\n  waitedMs\n  runnerState\n  message\n}"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "query Status {\n  status {\n    activeStrategyKey\n    configVersion\n    configUpdatedAt\n    configDigest\n    tradingEnabled\n    configError {\n      location\n      message\n    }\n    runner {\n      ...RunnerInfo\n    }\n  }\n  config {\n    ...RuntimeConfigFields\n  }\n}"): (typeof documents)["query Status {\n  status {\n    activeStrategyKey\n    configVersion\n    configUpdatedAt\n    configDigest\n    tradingEnabled\n    configError {\n      location\n      message\n    }\n    runner {\n      ...RunnerInfo\n    }\n  }\n  config {\n    ...RuntimeConfigFields\n  }\n}"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "subscription StatusChanged {\n  statusChanged {\n    activeStrategyKey\n    configVersion\n    configDigest\n    configError {\n      location\n      message\n    }\n    runner {\n      ...RunnerInfo\n    }\n  }\n}"): (typeof documents)["subscription StatusChanged {\n  statusChanged {\n    activeStrategyKey\n    configVersion\n    configDigest\n    configError {\n      location\n      message\n    }\n    runner {\n      ...RunnerInfo\n    }\n  }\n}"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "query Strategies($instrument: String, $riskLevel: RiskLevel, $sessionPreference: TradingSession) {\n  strategies(\n    instrument: $instrument\n    riskLevel: $riskLevel\n    sessionPreference: $sessionPreference\n  ) {\n    key\n    name\n    description\n    instruments\n    tunables\n    riskLevel\n    sessionPreference\n    isActive\n  }\n}"): (typeof documents)["query Strategies($instrument: String, $riskLevel: RiskLevel, $sessionPreference: TradingSession) {\n  strategies(\n    instrument: $instrument\n    riskLevel: $riskLevel\n    sessionPreference: $sessionPreference\n  ) {\n    key\n    name\n    description\n    instruments\n    tunables\n    riskLevel\n    sessionPreference\n    isActive\n  }\n}"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "query Strategy($key: String!) {\n  strategy(key: $key) {\n    key\n    name\n    description\n    instruments\n    tunables\n    effectiveTunables\n    riskLevel\n    sessionPreference\n    isActive\n  }\n}"): (typeof documents)["query Strategy($key: String!) {\n  strategy(key: $key) {\n    key\n    name\n    description\n    instruments\n    tunables\n    effectiveTunables\n    riskLevel\n    sessionPreference\n    isActive\n  }\n}"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "mutation UpdateConfig($input: UpdateConfigInput!, $expectedVersion: Int, $waitForRunner: Boolean, $timeoutMs: Int) {\n  updateConfig(\n    input: $input\n    expectedVersion: $expectedVersion\n    waitForRunner: $waitForRunner\n    timeoutMs: $timeoutMs\n  ) {\n    changed\n    changedFields\n    config {\n      ...RuntimeConfigFields\n    }\n    runnerWait {\n      ...RunnerWaitFields\n    }\n  }\n}"): (typeof documents)["mutation UpdateConfig($input: UpdateConfigInput!, $expectedVersion: Int, $waitForRunner: Boolean, $timeoutMs: Int) {\n  updateConfig(\n    input: $input\n    expectedVersion: $expectedVersion\n    waitForRunner: $waitForRunner\n    timeoutMs: $timeoutMs\n  ) {\n    changed\n    changedFields\n    config {\n      ...RuntimeConfigFields\n    }\n    runnerWait {\n      ...RunnerWaitFields\n    }\n  }\n}"];

export function graphql(source: string) {
  return (documents as any)[source] ?? {};
}

export type DocumentType<TDocumentNode extends DocumentNode<any, any>> = TDocumentNode extends DocumentNode<  infer TType,  any>  ? TType  : never;
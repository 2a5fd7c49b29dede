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
    "query ConfigHistory($last: Int = 20) {\n  configHistory(last: $last) {\n    ...AuditEntryFields\n    config {\n      ...RuntimeConfigFields\n    }\n  }\n}": typeof types.ConfigHistoryDocument,
    "mutation DeletePreset($key: String!, $expectedVersion: Int) {\n  deletePreset(key: $key, expectedVersion: $expectedVersion) {\n    changed\n    presetsVersion\n    strategy {\n      key\n      base\n      name\n    }\n  }\n}": typeof types.DeletePresetDocument,
    "fragment OperatorRunner on RunnerStatus {\n  id\n  host\n  pid\n  state\n  inSync\n  appliedConfigVersion\n  appliedStrategyKey\n  lastScanAt\n  error\n}\n\nfragment OperatorStatus on Status {\n  activeStrategyKey\n  activeStrategy {\n    key\n    name\n    riskLevel\n    sessionPreference\n    instruments\n  }\n  configVersion\n  configUpdatedAt\n  configDigest\n  tradingEnabled\n  configError {\n    location\n    message\n  }\n  presetsVersion\n  strategiesError {\n    location\n    message\n  }\n  runner {\n    ...OperatorRunner\n  }\n  runners {\n    ...OperatorRunner\n  }\n}\n\nfragment OperatorSignal on RunnerSignal {\n  instrument\n  strategyKey\n  direction\n  reason\n  price\n  candleTime\n  error\n}": typeof types.OperatorRunnerFragmentDoc,
    "query OperatorHistory($last: Int = 50) {\n  configHistory(last: $last) {\n    version\n    time\n    actor\n    operation\n    changes {\n      field\n      before\n      after\n    }\n    config {\n      activeStrategyKey\n      tradingEnabled\n      scanIntervalSeconds\n      tunableOverrides\n    }\n  }\n}": typeof types.OperatorHistoryDocument,
    "query OperatorOverview {\n  viewer {\n    name\n    scope\n  }\n  status {\n    ...OperatorStatus\n  }\n  config {\n    scanIntervalSeconds\n    tunableOverrides\n    version\n  }\n}": typeof types.OperatorOverviewDocument,
    "query OperatorSignals($instrument: String!, $last: Int = 100) {\n  signals(instrument: $instrument, last: $last) {\n    ...OperatorSignal\n  }\n}": typeof types.OperatorSignalsDocument,
    "subscription OperatorSignalsEmitted {\n  signalsEmitted {\n    ...OperatorSignal\n  }\n}": typeof types.OperatorSignalsEmittedDocument,
    "subscription OperatorStatusChanged {\n  statusChanged {\n    ...OperatorStatus\n  }\n}": typeof types.OperatorStatusChangedDocument,
    "query OperatorStrategies($instrument: String, $riskLevel: RiskLevel, $sessionPreference: TradingSession) {\n  strategies(\n    instrument: $instrument\n    riskLevel: $riskLevel\n    sessionPreference: $sessionPreference\n  ) {\n    key\n    name\n    description\n    instruments\n    riskLevel\n    sessionPreference\n    isActive\n    base\n    effectiveTunables\n    tunableDefinitions {\n      name\n      type\n      default\n      min\n      max\n      description\n    }\n  }\n}": typeof types.OperatorStrategiesDocument,
    "fragment PresetFields on Preset {\n  key\n  base\n  name\n  description\n  instruments\n  riskLevel\n  sessionPreference\n  tunables\n}\n\nquery Presets {\n  strategies {\n    key\n    isActive\n    instruments\n    tunables\n    preset {\n      ...PresetFields\n    }\n  }\n  status {\n    presetsVersion\n    strategiesError {\n      location\n      message\n    }\n  }\n}": typeof types.PresetFieldsFragmentDoc,
    "mutation ReloadStrategies {\n  reloadStrategies {\n    presetsVersion\n    strategiesError {\n      location\n      message\n    }\n  }\n}": typeof types.ReloadStrategiesDocument,
    "mutation RollbackConfig($toVersion: Int!, $expectedVersion: Int, $waitForRunner: Boolean, $timeoutMs: Int) {\n  rollbackConfig(\n    toVersion: $toVersion\n    expectedVersion: $expectedVersion\n    waitForRunner: $waitForRunner\n    timeoutMs: $timeoutMs\n  ) {\n    rolledBackTo\n    changed\n    changedFields\n    config {\n      ...RuntimeConfigFields\n    }\n    runnerWait {\n      ...RunnerWaitFields\n    }\n  }\n}": typeof types.RollbackConfigDocument,
    "fragment RunnerInfo on RunnerStatus {\n  id\n  state\n  inSync\n  appliedConfigVersion\n  appliedStrategyKey\n  appliedAt\n  lastScanAt\n  heartbeatAt\n  error\n}": typeof types.RunnerInfoFragmentDoc,
    "fragment RuntimeConfigFields on RuntimeConfig {\n  activeStrategyKey\n  tradingEnabled\n  scanIntervalSeconds\n  tunableOverrides\n  version\n  updatedAt\n}\n\nfragment RunnerWaitFields on RunnerWait {\n  applied\n  timedOut\n  waitedMs\n  runnerState\n  waitedFor\n  notWaitedFor\n  message\n}": typeof types.RuntimeConfigFieldsFragmentDoc,
    "query Status {\n  status {\n    activeStrategyKey\n    configVersion\n    configUpdatedAt\n    configDigest\n    tradingEnabled\n    configError {\n      location\n      message\n    }\n    presetsVersion\n    strategiesError {\n      location\n      message\n    }\n    runner {\n      ...RunnerInfo\n    }\n    runners {\n      ...RunnerInfo\n    }\n    store {\n      kind\n      connected\n      lastContactAt\n    }\n  }\n  config {\n    ...RuntimeConfigFields\n  }\n}": typeof types.StatusDocument,
    "subscription StatusChanged {\n  statusChanged {\n    activeStrategyKey\n    configVersion\n    configUpdatedAt\n    configDigest\n    tradingEnabled\n    configError {\n      location\n      message\n    }\n    presetsVersion\n    strategiesError {\n      location\n      message\n    }\n    runner {\n      ...RunnerInfo\n    }\n    runners {\n      ...RunnerInfo\n    }\n    store {\n      kind\n      connected\n      lastContactAt\n    }\n  }\n}": typeof types.StatusChangedDocument,
    "query Strategies($instrument: String, $riskLevel: RiskLevel, $sessionPreference: TradingSession) {\n  strategies(\n    instrument: $instrument\n    riskLevel: $riskLevel\n    sessionPreference: $sessionPreference\n  ) {\n    key\n    name\n    description\n    instruments\n    tunables\n    riskLevel\n    sessionPreference\n    isActive\n    source\n    base\n  }\n}": typeof types.StrategiesDocument,
    "subscription StrategiesChanged {\n  strategiesChanged {\n    key\n    name\n    source\n    base\n    instruments\n    tunables\n    riskLevel\n    sessionPreference\n    isActive\n  }\n}": typeof types.StrategiesChangedDocument,
    "query Strategy($key: String!) {\n  strategy(key: $key) {\n    key\n    name\n    description\n    instruments\n    tunables\n    effectiveTunables\n    riskLevel\n    sessionPreference\n    isActive\n    source\n    base\n  }\n}": typeof types.StrategyDocument,
    "mutation UpdateConfig($input: UpdateConfigInput!, $expectedVersion: Int, $waitForRunner: Boolean, $timeoutMs: Int) {\n  updateConfig(\n    input: $input\n    expectedVersion: $expectedVersion\n    waitForRunner: $waitForRunner\n    timeoutMs: $timeoutMs\n  ) {\n    changed\n    changedFields\n    config {\n      ...RuntimeConfigFields\n    }\n    runnerWait {\n      ...RunnerWaitFields\n    }\n  }\n}": typeof types.UpdateConfigDocument,
    "mutation UpsertPreset($input: PresetInput!, $expectedVersion: Int) {\n  upsertPreset(input: $input, expectedVersion: $expectedVersion) {\n    changed\n    changedFields\n    presetsVersion\n    strategy {\n      key\n      base\n      name\n      instruments\n      tunables\n      riskLevel\n      sessionPreference\n      isActive\n    }\n  }\n}": typeof types.UpsertPresetDocument,
};
const documents: Documents = {
    "mutation ActivateStrategy($strategyKey: String!, $expectedVersion: Int, $waitForRunner: Boolean, $timeoutMs: Int) {\n  activateStrategy(\n    strategyKey: $strategyKey\n    expectedVersion: $expectedVersion\n    waitForRunner: $waitForRunner\n    timeoutMs: $timeoutMs\n  ) {\n    activeStrategyKey\n    previousStrategyKey\n    configVersion\n    changed\n    runnerWait {\n      ...RunnerWaitFields\n    }\n  }\n}": types.ActivateStrategyDocument,
    "fragment AuditEntryFields on AuditEntry {\n  time\n  actor\n  operation\n  subject\n  version\n  digest\n  changes {\n    field\n    before\n    after\n  }\n  details\n}": types.AuditEntryFieldsFragmentDoc,
    "query AuditLog($last: Int, $subject: AuditSubject) {\n  auditLog(last: $last, subject: $subject) {\n    ...AuditEntryFields\n  }\n}": types.AuditLogDocument,
    "query ConfigHistory($last: Int = 20) {\n  configHistory(last: $last) {\n    ...AuditEntryFields\n    config {\n      ...RuntimeConfigFields\n    }\n  }\n}": types.ConfigHistoryDocument,
    "mutation DeletePreset($key: String!, $expectedVersion: Int) {\n  deletePreset(key: $key, expectedVersion: $expectedVersion) {\n    changed\n    presetsVersion\n    strategy {\n      key\n      base\n      name\n    }\n  }\n}": types.DeletePresetDocument,
    "fragment OperatorRunner on RunnerStatus {\n  id\n  host\n  pid\n  state\n  inSync\n  appliedConfigVersion\n  appliedStrategyKey\n  lastScanAt\n  error\n}\n\nfragment OperatorStatus on Status {\n  activeStrategyKey\n  activeStrategy {\n    key\n    name\n    riskLevel\n    sessionPreference\n    instruments\n  }\n  configVersion\n  configUpdatedAt\n  configDigest\n  tradingEnabled\n  configError {\n    location\n    message\n  }\n  presetsVersion\n  strategiesError {\n    location\n    message\n  }\n  runner {\n    ...OperatorRunner\n  }\n  runners {\n    ...OperatorRunner\n  }\n}\n\nfragment OperatorSignal on RunnerSignal {\n  instrument\n  strategyKey\n  direction\n  reason\n  price\n  candleTime\n  error\n}": types.OperatorRunnerFragmentDoc,
    "query OperatorHistory($last: Int = 50) {\n  configHistory(last: $last) {\n    version\n    time\n    actor\n    operation\n    changes {\n      field\n      before\n      after\n    }\n    config {\n      activeStrategyKey\n      tradingEnabled\n      scanIntervalSeconds\n      tunableOverrides\n    }\n  }\n}": types.OperatorHistoryDocument,
    "query OperatorOverview {\n  viewer {\n    name\n    scope\n  }\n  status {\n    ...OperatorStatus\n  }\n  config {\n    scanIntervalSeconds\n    tunableOverrides\n    version\n  }\n}": types.OperatorOverviewDocument,
    "query OperatorSignals($instrument: String!, $last: Int = 100) {\n  signals(instrument: $instrument, last: $last) {\n    ...OperatorSignal\n  }\n}": types.OperatorSignalsDocument,
    "subscription OperatorSignalsEmitted {\n  signalsEmitted {\n    ...OperatorSignal\n  }\n}": types.OperatorSignalsEmittedDocument,
    "subscription OperatorStatusChanged {\n  statusChanged {\n    ...OperatorStatus\n  }\n}": types.OperatorStatusChangedDocument,
    "query OperatorStrategies($instrument: String, $riskLevel: RiskLevel, $sessionPreference: TradingSession) {\n  strategies(\n    instrument: $instrument\n    riskLevel: $riskLevel\n    sessionPreference: $sessionPreference\n  ) {\n    key\n    name\n    description\n    instruments\n    riskLevel\n    sessionPreference\n    isActive\n    base\n    effectiveTunables\n    tunableDefinitions {\n      name\n      type\n      default\n      min\n      max\n      description\n    }\n  }\n}": types.OperatorStrategiesDocument,
    "fragment PresetFields on Preset {\n  key\n  base\n  name\n  description\n  instruments\n  riskLevel\n  sessionPreference\n  tunables\n}\n\nquery Presets {\n  strategies {\n    key\n    isActive\n    instruments\n    tunables\n    preset {\n      ...PresetFields\n    }\n  }\n  status {\n    presetsVersion\n    strategiesError {\n      location\n      message\n    }\n  }\n}": types.PresetFieldsFragmentDoc,
    "mutation ReloadStrategies {\n  reloadStrategies {\n    presetsVersion\n    strategiesError {\n      location\n      message\n    }\n  }\n}": types.ReloadStrategiesDocument,
    "mutation RollbackConfig($toVersion: Int!, $expectedVersion: Int, $waitForRunner: Boolean, $timeoutMs: Int) {\n  rollbackConfig(\n    toVersion: $toVersion\n    expectedVersion: $expectedVersion\n    waitForRunner: $waitForRunner\n    timeoutMs: $timeoutMs\n  ) {\n    rolledBackTo\n    changed\n    changedFields\n    config {\n      ...RuntimeConfigFields\n    }\n    runnerWait {\n      ...RunnerWaitFields\n    }\n  }\n}": types.RollbackConfigDocument,
    "fragment RunnerInfo on RunnerStatus {\n  id\n  state\n  inSync\n  appliedConfigVersion\n  appliedStrategyKey\n  appliedAt\n  lastScanAt\n  heartbeatAt\n  error\n}": types.RunnerInfoFragmentDoc,
    "fragment RuntimeConfigFields on RuntimeConfig {\n  activeStrategyKey\n  tradingEnabled\n  scanIntervalSeconds\n  tunableOverrides\n  version\n  updatedAt\n}\n\nfragment RunnerWaitFields on RunnerWait {\n  applied\n  timedOut\n  waitedMs\n  runnerState\n  waitedFor\n  notWaitedFor\n  message\n}": types.RuntimeConfigFieldsFragmentDoc,
    "query Status {\n  status {\n    activeStrategyKey\n    configVersion\n    configUpdatedAt\n    configDigest\n    tradingEnabled\n    configError {\n      location\n      message\n    }\n    presetsVersion\n    strategiesError {\n      location\n      message\n    }\n    runner {\n      ...RunnerInfo\n    }\n    runners {\n      ...RunnerInfo\n    }\n    store {\n      kind\n      connected\n      lastContactAt\n    }\n  }\n  config {\n    ...RuntimeConfigFields\n  }\n}": types.StatusDocument,
    "subscription StatusChanged {\n  statusChanged {\n    activeStrategyKey\n    configVersion\n    configUpdatedAt\n    configDigest\n    tradingEnabled\n    configError {\n      location\n      message\n    }\n    presetsVersion\n    strategiesError {\n      location\n      message\n    }\n    runner {\n      ...RunnerInfo\n    }\n    runners {\n      ...RunnerInfo\n    }\n    store {\n      kind\n      connected\n      lastContactAt\n    }\n  }\n}": types.StatusChangedDocument,
    "query Strategies($instrument: String, $riskLevel: RiskLevel, $sessionPreference: TradingSession) {\n  strategies(\n    instrument: $instrument\n    riskLevel: $riskLevel\n    sessionPreference: $sessionPreference\n  ) {\n    key\n    name\n    description\n    instruments\n    tunables\n    riskLevel\n    sessionPreference\n    isActive\n    source\n    base\n  }\n}": types.StrategiesDocument,
    "subscription StrategiesChanged {\n  strategiesChanged {\n    key\n    name\n    source\n    base\n    instruments\n    tunables\n    riskLevel\n    sessionPreference\n    isActive\n  }\n}": types.StrategiesChangedDocument,
    "query Strategy($key: String!) {\n  strategy(key: $key) {\n    key\n    name\n    description\n    instruments\n    tunables\n    effectiveTunables\n    riskLevel\n    sessionPreference\n    isActive\n    source\n    base\n  }\n}": types.StrategyDocument,
    "mutation UpdateConfig($input: UpdateConfigInput!, $expectedVersion: Int, $waitForRunner: Boolean, $timeoutMs: Int) {\n  updateConfig(\n    input: $input\n    expectedVersion: $expectedVersion\n    waitForRunner: $waitForRunner\n    timeoutMs: $timeoutMs\n  ) {\n    changed\n    changedFields\n    config {\n      ...RuntimeConfigFields\n    }\n    runnerWait {\n      ...RunnerWaitFields\n    }\n  }\n}": types.UpdateConfigDocument,
    "mutation UpsertPreset($input: PresetInput!, $expectedVersion: Int) {\n  upsertPreset(input: $input, expectedVersion: $expectedVersion) {\n    changed\n    changedFields\n    presetsVersion\n    strategy {\n      key\n      base\n      name\n      instruments\n      tunables\n      riskLevel\n      sessionPreference\n      isActive\n    }\n  }\n}": types.UpsertPresetDocument,
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
export function graphql(source: "query ConfigHistory($last: Int = 20) {\n  configHistory(last: $last) {\n    ...AuditEntryFields\n    config {\n      ...RuntimeConfigFields\n    }\n  }\n}"): (typeof documents)["query ConfigHistory($last: Int = 20) {\n  configHistory(last: $last) {\n    ...AuditEntryFields\n    config {\n      ...RuntimeConfigFields\n    }\n  }\n}"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "mutation DeletePreset($key: String!, $expectedVersion: Int) {\n  deletePreset(key: $key, expectedVersion: $expectedVersion) {\n    changed\n    presetsVersion\n    strategy {\n      key\n      base\n      name\n    }\n  }\n}"): (typeof documents)["mutation DeletePreset($key: String!, $expectedVersion: Int) {\n  deletePreset(key: $key, expectedVersion: $expectedVersion) {\n    changed\n    presetsVersion\n    strategy {\n      key\n      base\n      name\n    }\n  }\n}"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "fragment OperatorRunner on RunnerStatus {\n  id\n  host\n  pid\n  state\n  inSync\n  appliedConfigVersion\n  appliedStrategyKey\n  lastScanAt\n  error\n}\n\nfragment OperatorStatus on Status {\n  activeStrategyKey\n  activeStrategy {\n    key\n    name\n    riskLevel\n    sessionPreference\n    instruments\n  }\n  configVersion\n  configUpdatedAt\n  configDigest\n  tradingEnabled\n  configError {\n    location\n    message\n  }\n  presetsVersion\n  strategiesError {\n    location\n    message\n  }\n  runner {\n    ...OperatorRunner\n  }\n  runners {\n    ...OperatorRunner\n  }\n}\n\nfragment OperatorSignal on RunnerSignal {\n  instrument\n  strategyKey\n  direction\n  reason\n  price\n  candleTime\n  error\n}"): (typeof documents)["fragment OperatorRunner on RunnerStatus {\n  id\n  host\n  pid\n  state\n  inSync\n  appliedConfigVersion\n  appliedStrategyKey\n  lastScanAt\n  error\n}\n\nfragment OperatorStatus on Status {\n  activeStrategyKey\n  activeStrategy {\n    key\n    name\n    riskLevel\n    sessionPreference\n    instruments\n  }\n  configVersion\n  configUpdatedAt\n  configDigest\n  tradingEnabled\n  configError {\n    location\n    message\n  }\n  presetsVersion\n  strategiesError {\n    location\n    message\n  }\n  runner {\n    ...OperatorRunner\n  }\n  runners {\n    ...OperatorRunner\n  }\n}\n\nfragment OperatorSignal on RunnerSignal {\n  instrument\n  strategyKey\n  direction\n  reason\n  price\n  candleTime\n  error\n}"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "query OperatorHistory($last: Int = 50) {\n  configHistory(last: $last) {\n    version\n    time\n    actor\n    operation\n    changes {\n      field\n      before\n      after\n    }\n    config {\n      activeStrategyKey\n      tradingEnabled\n      scanIntervalSeconds\n      tunableOverrides\n    }\n  }\n}"): (typeof documents)["query OperatorHistory($last: Int = 50) {\n  configHistory(last: $last) {\n    version\n    time\n    actor\n    operation\n    changes {\n      field\n      before\n      after\n    }\n    config {\n      activeStrategyKey\n      tradingEnabled\n      scanIntervalSeconds\n      tunableOverrides\n    }\n  }\n}"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "query OperatorOverview {\n  viewer {\n    name\n    scope\n  }\n  status {\n    ...OperatorStatus\n  }\n  config {\n    scanIntervalSeconds\n    tunableOverrides\n    version\n  }\n}"): (typeof documents)["query OperatorOverview {\n  viewer {\n    name\n    scope\n  }\n  status {\n    ...OperatorStatus\n  }\n  config {\n    scanIntervalSeconds\n    tunableOverrides\n    version\n  }\n}"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "query OperatorSignals($instrument: String!, $last: Int = 100) {\n  signals(instrument: $instrument, last: $last) {\n    ...OperatorSignal\n  }\n}"): (typeof documents)["query OperatorSignals($instrument: String!, $last: Int = 100) {\n  signals(instrument: $instrument, last: $last) {\n    ...OperatorSignal\n  }\n}"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "subscription OperatorSignalsEmitted {\n  signalsEmitted {\n    ...OperatorSignal\n  }\n}"): (typeof documents)["subscription OperatorSignalsEmitted {\n  signalsEmitted {\n    ...OperatorSignal\n  }\n}"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "subscription OperatorStatusChanged {\n  statusChanged {\n    ...OperatorStatus\n  }\n}"): (typeof documents)["subscription OperatorStatusChanged {\n  statusChanged {\n    ...OperatorStatus\n  }\n}"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "query OperatorStrategies($instrument: String, $riskLevel: RiskLevel, $sessionPreference: TradingSession) {\n  strategies(\n    instrument: $instrument\n    riskLevel: $riskLevel\n    sessionPreference: $sessionPreference\n  ) {\n    key\n    name\n    description\n    instruments\n    riskLevel\n    sessionPreference\n    isActive\n    base\n    effectiveTunables\n    tunableDefinitions {\n      name\n      type\n      default\n      min\n      max\n      description\n    }\n  }\n}"): (typeof documents)["query OperatorStrategies($instrument: String, $riskLevel: RiskLevel, $sessionPreference: TradingSession) {\n  strategies(\n    instrument: $instrument\n    riskLevel: $riskLevel\n    sessionPreference: $sessionPreference\n  ) {\n    key\n    name\n    description\n    instruments\n    riskLevel\n    sessionPreference\n    isActive\n    base\n    effectiveTunables\n    tunableDefinitions {\n      name\n      type\n      default\n      min\n      max\n      description\n    }\n  }\n}"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "fragment PresetFields on Preset {\n  key\n  base\n  name\n  description\n  instruments\n  riskLevel\n  sessionPreference\n  tunables\n}\n\nquery Presets {\n  strategies {\n    key\n    isActive\n    instruments\n    tunables\n    preset {\n      ...PresetFields\n    }\n  }\n  status {\n    presetsVersion\n    strategiesError {\n      location\n      message\n    }\n  }\n}"): (typeof documents)["fragment PresetFields on Preset {\n  key\n  base\n  name\n  description\n  instruments\n  riskLevel\n  sessionPreference\n  tunables\n}\n\nquery Presets {\n  strategies {\n    key\n    isActive\n    instruments\n    tunables\n    preset {\n      ...PresetFields\n    }\n  }\n  status {\n    presetsVersion\n    strategiesError {\n      location\n      message\n    }\n  }\n}"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "mutation ReloadStrategies {\n  reloadStrategies {\n    presetsVersion\n    strategiesError {\n      location\n      message\n    }\n  }\n}"): (typeof documents)["mutation ReloadStrategies {\n  reloadStrategies {\n    presetsVersion\n    strategiesError {\n      location\n      message\n    }\n  }\n}"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "mutation RollbackConfig($toVersion: Int!, $expectedVersion: Int, $waitForRunner: Boolean, $timeoutMs: Int) {\n  rollbackConfig(\n    toVersion: $toVersion\n    expectedVersion: $expectedVersion\n    waitForRunner: $waitForRunner\n    timeoutMs: $timeoutMs\n  ) {\n    rolledBackTo\n    changed\n    changedFields\n    config {\n      ...RuntimeConfigFields\n    }\n    runnerWait {\n      ...RunnerWaitFields\n    }\n  }\n}"): (typeof documents)["mutation RollbackConfig($toVersion: Int!, $expectedVersion: Int, $waitForRunner: Boolean, $timeoutMs: Int) {\n  rollbackConfig(\n    toVersion: $toVersion\n    expectedVersion: $expectedVersion\n    waitForRunner: $waitForRunner\n    timeoutMs: $timeoutMs\n  ) {\n    rolledBackTo\n    changed\n    changedFields\n    config {\n      ...RuntimeConfigFields\n    }\n    runnerWait {\n      ...RunnerWaitFields\n    }\n  }\n}"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "fragment RunnerInfo on RunnerStatus {\n  id\n  state\n  inSync\n  appliedConfigVersion\n  appliedStrategyKey\n  appliedAt\n  lastScanAt\n  heartbeatAt\n  error\n}"): (typeof documents)["fragment RunnerInfo on RunnerStatus {\n  id\n  state\n  inSync\n  appliedConfigVersion\n  appliedStrategyKey\n  appliedAt\n  lastScanAt\n  heartbeatAt\n  error\n}"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "fragment RuntimeConfigFields on RuntimeConfig {\n  activeStrategyKey\n  tradingEnabled\n  scanIntervalSeconds\n  tunableOverrides\n  version\n  updatedAt\n}\n\nfragment RunnerWaitFields on RunnerWait {\n  applied\n  timedOut\n  waitedMs\n  runnerState\n  waitedFor\n  notWaitedFor\n  message\n}"): (typeof documents)["fragment RuntimeConfigFields on RuntimeConfig {\n  activeStrategyKey\n  tradingEnabled\n  scanIntervalSeconds\n  tunableOverrides\n  version\n  updatedAt\n}\n\nfragment RunnerWaitFields on RunnerWait {\n  applied\n  timedOut\n  waitedMs\n  runnerState\n  waitedFor\n  notWaitedFor\n  message\n}"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "query Status {\n  status {\n    activeStrategyKey\n    configVersion\n    configUpdatedAt\n    configDigest\n    tradingEnabled\n    configError {\n      location\n      message\n    }\n    presetsVersion\n    strategiesError {\n      location\n      message\n    }\n    runner {\n      ...RunnerInfo\n    }\n    runners {\n      ...RunnerInfo\n    }\n    store {\n      kind\n      connected\n      lastContactAt\n    }\n  }\n  config {\n    ...RuntimeConfigFields\n  }\n}"): (typeof documents)["query Status {\n  status {\n    activeStrategyKey\n    configVersion\n    configUpdatedAt\n    configDigest\n    tradingEnabled\n    configError {\n      location\n      message\n    }\n    presetsVersion\n    strategiesError {\n      location\n      message\n    }\n    runner {\n      ...RunnerInfo\n    }\n    runners {\n      ...RunnerInfo\n    }\n    store {\n      kind\n      connected\n      lastContactAt\n    }\n  }\n  config {\n    ...RuntimeConfigFields\n  }\n}"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "subscription StatusChanged {\n  statusChanged {\n    activeStrategyKey\n    configVersion\n    configUpdatedAt\n    configDigest\n    tradingEnabled\n    configError {\n      location\n      message\n    }\n    presetsVersion\n    strategiesError {\n      location\n      message\n    }\n    runner {\n      ...RunnerInfo\n    }\n    runners {\n      ...RunnerInfo\n    }\n    store {\n      kind\n      connected\n      lastContactAt\n    }\n  }\n}"): (typeof documents)["subscription StatusChanged {\n  statusChanged {\n    activeStrategyKey\n    configVersion\n    configUpdatedAt\n    configDigest\n    tradingEnabled\n    configError {\n      location\n      message\n    }\n    presetsVersion\n    strategiesError {\n      location\n      message\n    }\n    runner {\n      ...RunnerInfo\n    }\n    runners {\n      ...RunnerInfo\n    }\n    store {\n      kind\n      connected\n      lastContactAt\n    }\n  }\n}"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "query Strategies($instrument: String, $riskLevel: RiskLevel, $sessionPreference: TradingSession) {\n  strategies(\n    instrument: $instrument\n    riskLevel: $riskLevel\n    sessionPreference: $sessionPreference\n  ) {\n    key\n    name\n    description\n    instruments\n    tunables\n    riskLevel\n    sessionPreference\n    isActive\n    source\n    base\n  }\n}"): (typeof documents)["query Strategies($instrument: String, $riskLevel: RiskLevel, $sessionPreference: TradingSession) {\n  strategies(\n    instrument: $instrument\n    riskLevel: $riskLevel\n    sessionPreference: $sessionPreference\n  ) {\n    key\n    name\n    description\n    instruments\n    tunables\n    riskLevel\n    sessionPreference\n    isActive\n    source\n    base\n  }\n}"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "subscription StrategiesChanged {\n  strategiesChanged {\n    key\n    name\n    source\n    base\n    instruments\n    tunables\n    riskLevel\n    sessionPreference\n    isActive\n  }\n}"): (typeof documents)["subscription StrategiesChanged {\n  strategiesChanged {\n    key\n    name\n    source\n    base\n    instruments\n    tunables\n    riskLevel\n    sessionPreference\n    isActive\n  }\n}"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "query Strategy($key: String!) {\n  strategy(key: $key) {\n    key\n    name\n    description\n    instruments\n    tunables\n    effectiveTunables\n    riskLevel\n    sessionPreference\n    isActive\n    source\n    base\n  }\n}"): (typeof documents)["query Strategy($key: String!) {\n  strategy(key: $key) {\n    key\n    name\n    description\n    instruments\n    tunables\n    effectiveTunables\n    riskLevel\n    sessionPreference\n    isActive\n    source\n    base\n  }\n}"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "mutation UpdateConfig($input: UpdateConfigInput!, $expectedVersion: Int, $waitForRunner: Boolean, $timeoutMs: Int) {\n  updateConfig(\n    input: $input\n    expectedVersion: $expectedVersion\n    waitForRunner: $waitForRunner\n    timeoutMs: $timeoutMs\n  ) {\n    changed\n    changedFields\n    config {\n      ...RuntimeConfigFields\n    }\n    runnerWait {\n      ...RunnerWaitFields\n    }\n  }\n}"): (typeof documents)["mutation UpdateConfig($input: UpdateConfigInput!, $expectedVersion: Int, $waitForRunner: Boolean, $timeoutMs: Int) {\n  updateConfig(\n    input: $input\n    expectedVersion: $expectedVersion\n    waitForRunner: $waitForRunner\n    timeoutMs: $timeoutMs\n  ) {\n    changed\n    changedFields\n    config {\n      ...RuntimeConfigFields\n    }\n    runnerWait {\n      ...RunnerWaitFields\n    }\n  }\n}"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "mutation UpsertPreset($input: PresetInput!, $expectedVersion: Int) {\n  upsertPreset(input: $input, expectedVersion: $expectedVersion) {\n    changed\n    changedFields\n    presetsVersion\n    strategy {\n      key\n      base\n      name\n      instruments\n      tunables\n      riskLevel\n      sessionPreference\n      isActive\n    }\n  }\n}"): (typeof documents)["mutation UpsertPreset($input: PresetInput!, $expectedVersion: Int) {\n  upsertPreset(input: $input, expectedVersion: $expectedVersion) {\n    changed\n    changedFields\n    presetsVersion\n    strategy {\n      key\n      base\n      name\n      instruments\n      tunables\n      riskLevel\n      sessionPreference\n      isActive\n    }\n  }\n}"];

export function graphql(source: string) {
  return (documents as any)[source] ?? {};
}

export type DocumentType<TDocumentNode extends DocumentNode<any, any>> = TDocumentNode extends DocumentNode<  infer TType,  any>  ? TType  : never;
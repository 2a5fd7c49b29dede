/* eslint-disable */
/** Internal type. DO NOT USE DIRECTLY. */
type Exact<T extends { [key: string]: unknown }> = { [K in keyof T]: T[K] };
/** Internal type. DO NOT USE DIRECTLY. */
export type Incremental<T> = T | { [P in keyof T]?: P extends ' $fragmentName' | '__typename' ? T[P] : never };
import type { TypedDocumentNode as DocumentNode } from '@graphql-typed-document-node/core';
/** How much a strategy can lose on a bad day, relative to the others. */
export type RiskLevel =
  | 'HIGH'
  | 'LOW'
  | 'MEDIUM';

/** RUNNING: heartbeat fresh, no error. STALE: no heartbeat for 3 intervals (dead or stuck). STOPPED: none running. ERROR: running but cannot do what the config asks. */
export type RunnerState =
  | 'ERROR'
  | 'RUNNING'
  | 'STALE'
  | 'STOPPED';

/** The market session a strategy is built for. */
export type TradingSession =
  | 'ANY'
  | 'ASIA'
  | 'LONDON'
  | 'NY';

/** A partial update: only the fields given change. */
export type UpdateConfigInput = {
  activeStrategyKey?: string | null | undefined;
  /** Seconds between runner scans, 1 to 86400. */
  scanIntervalSeconds?: number | null | undefined;
  tradingEnabled?: boolean | null | undefined;
  /** `{ <strategyKey>: { <tunable>: value } }`, merged per strategy and per tunable; `null` removes an override (or all of a strategy’s). */
  tunableOverrides?: unknown;
};

export type ActivateStrategyMutationVariables = Exact<{
  strategyKey: string;
  expectedVersion?: number | null | undefined;
  waitForRunner?: boolean | null | undefined;
  timeoutMs?: number | null | undefined;
}>;


export type ActivateStrategyMutation = { activateStrategy: { activeStrategyKey: string, previousStrategyKey: string, configVersion: number, runnerWait: { applied: boolean, timedOut: boolean, waitedMs: number, runnerState: RunnerState, message: string } | null } };

export type RunnerInfoFragment = { state: RunnerState, inSync: boolean, appliedConfigVersion: number | null, appliedStrategyKey: string | null, appliedAt: string | null, lastScanAt: string | null, heartbeatAt: string | null, error: string | null };

export type StatusQueryVariables = Exact<{ [key: string]: never; }>;


export type StatusQuery = { status: { activeStrategyKey: string, configVersion: number, configUpdatedAt: string, configDigest: string, tradingEnabled: boolean, configError: { location: string, message: string } | null, runner: { state: RunnerState, inSync: boolean, appliedConfigVersion: number | null, appliedStrategyKey: string | null, appliedAt: string | null, lastScanAt: string | null, heartbeatAt: string | null, error: string | null } }, config: { activeStrategyKey: string, tradingEnabled: boolean, scanIntervalSeconds: number, tunableOverrides: unknown, version: number, updatedAt: string } };

export type StatusChangedSubscriptionVariables = Exact<{ [key: string]: never; }>;


export type StatusChangedSubscription = { statusChanged: { activeStrategyKey: string, configVersion: number, configDigest: string, configError: { location: string, message: string } | null, runner: { state: RunnerState, inSync: boolean, appliedConfigVersion: number | null, appliedStrategyKey: string | null, appliedAt: string | null, lastScanAt: string | null, heartbeatAt: string | null, error: string | null } } };

export type StrategiesQueryVariables = Exact<{
  instrument?: string | null | undefined;
  riskLevel?: RiskLevel | null | undefined;
  sessionPreference?: TradingSession | null | undefined;
}>;


export type StrategiesQuery = { strategies: Array<{ key: string, name: string, description: string, instruments: Array<string>, tunables: unknown, riskLevel: RiskLevel, sessionPreference: TradingSession, isActive: boolean }> };

export type StrategyQueryVariables = Exact<{
  key: string;
}>;


export type StrategyQuery = { strategy: { key: string, name: string, description: string, instruments: Array<string>, tunables: unknown, effectiveTunables: unknown, riskLevel: RiskLevel, sessionPreference: TradingSession, isActive: boolean } | null };

export type UpdateConfigMutationVariables = Exact<{
  input: UpdateConfigInput;
  expectedVersion?: number | null | undefined;
  waitForRunner?: boolean | null | undefined;
  timeoutMs?: number | null | undefined;
}>;


export type UpdateConfigMutation = { updateConfig: { changedFields: Array<string>, config: { activeStrategyKey: string, tradingEnabled: boolean, scanIntervalSeconds: number, tunableOverrides: unknown, version: number, updatedAt: string }, runnerWait: { applied: boolean, timedOut: boolean, waitedMs: number, runnerState: RunnerState, message: string } | null } };

export const RunnerInfoFragmentDoc = {"kind":"Document","definitions":[{"kind":"FragmentDefinition","name":{"kind":"Name","value":"RunnerInfo"},"typeCondition":{"kind":"NamedType","name":{"kind":"Name","value":"RunnerStatus"}},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"state"}},{"kind":"Field","name":{"kind":"Name","value":"inSync"}},{"kind":"Field","name":{"kind":"Name","value":"appliedConfigVersion"}},{"kind":"Field","name":{"kind":"Name","value":"appliedStrategyKey"}},{"kind":"Field","name":{"kind":"Name","value":"appliedAt"}},{"kind":"Field","name":{"kind":"Name","value":"lastScanAt"}},{"kind":"Field","name":{"kind":"Name","value":"heartbeatAt"}},{"kind":"Field","name":{"kind":"Name","value":"error"}}]}}]} as unknown as DocumentNode<RunnerInfoFragment, unknown>;
export const ActivateStrategyDocument = {"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"mutation","name":{"kind":"Name","value":"ActivateStrategy"},"variableDefinitions":[{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"strategyKey"}},"type":{"kind":"NonNullType","type":{"kind":"NamedType","name":{"kind":"Name","value":"String"}}}},{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"expectedVersion"}},"type":{"kind":"NamedType","name":{"kind":"Name","value":"Int"}}},{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"waitForRunner"}},"type":{"kind":"NamedType","name":{"kind":"Name","value":"Boolean"}}},{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"timeoutMs"}},"type":{"kind":"NamedType","name":{"kind":"Name","value":"Int"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"activateStrategy"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"strategyKey"},"value":{"kind":"Variable","name":{"kind":"Name","value":"strategyKey"}}},{"kind":"Argument","name":{"kind":"Name","value":"expectedVersion"},"value":{"kind":"Variable","name":{"kind":"Name","value":"expectedVersion"}}},{"kind":"Argument","name":{"kind":"Name","value":"waitForRunner"},"value":{"kind":"Variable","name":{"kind":"Name","value":"waitForRunner"}}},{"kind":"Argument","name":{"kind":"Name","value":"timeoutMs"},"value":{"kind":"Variable","name":{"kind":"Name","value":"timeoutMs"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"activeStrategyKey"}},{"kind":"Field","name":{"kind":"Name","value":"previousStrategyKey"}},{"kind":"Field","name":{"kind":"Name","value":"configVersion"}},{"kind":"Field","name":{"kind":"Name","value":"runnerWait"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"applied"}},{"kind":"Field","name":{"kind":"Name","value":"timedOut"}},{"kind":"Field","name":{"kind":"Name","value":"waitedMs"}},{"kind":"Field","name":{"kind":"Name","value":"runnerState"}},{"kind":"Field","name":{"kind":"Name","value":"message"}}]}}]}}]}}]} as unknown as DocumentNode<ActivateStrategyMutation, ActivateStrategyMutationVariables>;
export const StatusDocument = {"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"query","name":{"kind":"Name","value":"Status"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"status"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"activeStrategyKey"}},{"kind":"Field","name":{"kind":"Name","value":"configVersion"}},{"kind":"Field","name":{"kind":"Name","value":"configUpdatedAt"}},{"kind":"Field","name":{"kind":"Name","value":"configDigest"}},{"kind":"Field","name":{"kind":"Name","value":"tradingEnabled"}},{"kind":"Field","name":{"kind":"Name","value":"configError"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"location"}},{"kind":"Field","name":{"kind":"Name","value":"message"}}]}},{"kind":"Field","name":{"kind":"Name","value":"runner"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"FragmentSpread","name":{"kind":"Name","value":"RunnerInfo"}}]}}]}},{"kind":"Field","name":{"kind":"Name","value":"config"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"activeStrategyKey"}},{"kind":"Field","name":{"kind":"Name","value":"tradingEnabled"}},{"kind":"Field","name":{"kind":"Name","value":"scanIntervalSeconds"}},{"kind":"Field","name":{"kind":"Name","value":"tunableOverrides"}},{"kind":"Field","name":{"kind":"Name","value":"version"}},{"kind":"Field","name":{"kind":"Name","value":"updatedAt"}}]}}]}},{"kind":"FragmentDefinition","name":{"kind":"Name","value":"RunnerInfo"},"typeCondition":{"kind":"NamedType","name":{"kind":"Name","value":"RunnerStatus"}},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"state"}},{"kind":"Field","name":{"kind":"Name","value":"inSync"}},{"kind":"Field","name":{"kind":"Name","value":"appliedConfigVersion"}},{"kind":"Field","name":{"kind":"Name","value":"appliedStrategyKey"}},{"kind":"Field","name":{"kind":"Name","value":"appliedAt"}},{"kind":"Field","name":{"kind":"Name","value":"lastScanAt"}},{"kind":"Field","name":{"kind":"Name","value":"heartbeatAt"}},{"kind":"Field","name":{"kind":"Name","value":"error"}}]}}]} as unknown as DocumentNode<StatusQuery, StatusQueryVariables>;
export const StatusChangedDocument = {"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"subscription","name":{"kind":"Name","value":"StatusChanged"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"statusChanged"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"activeStrategyKey"}},{"kind":"Field","name":{"kind":"Name","value":"configVersion"}},{"kind":"Field","name":{"kind":"Name","value":"configDigest"}},{"kind":"Field","name":{"kind":"Name","value":"configError"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"location"}},{"kind":"Field","name":{"kind":"Name","value":"message"}}]}},{"kind":"Field","name":{"kind":"Name","value":"runner"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"FragmentSpread","name":{"kind":"Name","value":"RunnerInfo"}}]}}]}}]}},{"kind":"FragmentDefinition","name":{"kind":"Name","value":"RunnerInfo"},"typeCondition":{"kind":"NamedType","name":{"kind":"Name","value":"RunnerStatus"}},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"state"}},{"kind":"Field","name":{"kind":"Name","value":"inSync"}},{"kind":"Field","name":{"kind":"Name","value":"appliedConfigVersion"}},{"kind":"Field","name":{"kind":"Name","value":"appliedStrategyKey"}},{"kind":"Field","name":{"kind":"Name","value":"appliedAt"}},{"kind":"Field","name":{"kind":"Name","value":"lastScanAt"}},{"kind":"Field","name":{"kind":"Name","value":"heartbeatAt"}},{"kind":"Field","name":{"kind":"Name","value":"error"}}]}}]} as unknown as DocumentNode<StatusChangedSubscription, StatusChangedSubscriptionVariables>;
export const StrategiesDocument = {"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"query","name":{"kind":"Name","value":"Strategies"},"variableDefinitions":[{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"instrument"}},"type":{"kind":"NamedType","name":{"kind":"Name","value":"String"}}},{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"riskLevel"}},"type":{"kind":"NamedType","name":{"kind":"Name","value":"RiskLevel"}}},{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"sessionPreference"}},"type":{"kind":"NamedType","name":{"kind":"Name","value":"TradingSession"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"strategies"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"instrument"},"value":{"kind":"Variable","name":{"kind":"Name","value":"instrument"}}},{"kind":"Argument","name":{"kind":"Name","value":"riskLevel"},"value":{"kind":"Variable","name":{"kind":"Name","value":"riskLevel"}}},{"kind":"Argument","name":{"kind":"Name","value":"sessionPreference"},"value":{"kind":"Variable","name":{"kind":"Name","value":"sessionPreference"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"key"}},{"kind":"Field","name":{"kind":"Name","value":"name"}},{"kind":"Field","name":{"kind":"Name","value":"description"}},{"kind":"Field","name":{"kind":"Name","value":"instruments"}},{"kind":"Field","name":{"kind":"Name","value":"tunables"}},{"kind":"Field","name":{"kind":"Name","value":"riskLevel"}},{"kind":"Field","name":{"kind":"Name","value":"sessionPreference"}},{"kind":"Field","name":{"kind":"Name","value":"isActive"}}]}}]}}]} as unknown as DocumentNode<StrategiesQuery, StrategiesQueryVariables>;
export const StrategyDocument = {"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"query","name":{"kind":"Name","value":"Strategy"},"variableDefinitions":[{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"key"}},"type":{"kind":"NonNullType","type":{"kind":"NamedType","name":{"kind":"Name","value":"String"}}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"strategy"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"key"},"value":{"kind":"Variable","name":{"kind":"Name","value":"key"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"key"}},{"kind":"Field","name":{"kind":"Name","value":"name"}},{"kind":"Field","name":{"kind":"Name","value":"description"}},{"kind":"Field","name":{"kind":"Name","value":"instruments"}},{"kind":"Field","name":{"kind":"Name","value":"tunables"}},{"kind":"Field","name":{"kind":"Name","value":"effectiveTunables"}},{"kind":"Field","name":{"kind":"Name","value":"riskLevel"}},{"kind":"Field","name":{"kind":"Name","value":"sessionPreference"}},{"kind":"Field","name":{"kind":"Name","value":"isActive"}}]}}]}}]} as unknown as DocumentNode<StrategyQuery, StrategyQueryVariables>;
export const UpdateConfigDocument = {"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"mutation","name":{"kind":"Name","value":"UpdateConfig"},"variableDefinitions":[{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"input"}},"type":{"kind":"NonNullType","type":{"kind":"NamedType","name":{"kind":"Name","value":"UpdateConfigInput"}}}},{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"expectedVersion"}},"type":{"kind":"NamedType","name":{"kind":"Name","value":"Int"}}},{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"waitForRunner"}},"type":{"kind":"NamedType","name":{"kind":"Name","value":"Boolean"}}},{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"timeoutMs"}},"type":{"kind":"NamedType","name":{"kind":"Name","value":"Int"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"updateConfig"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"input"},"value":{"kind":"Variable","name":{"kind":"Name","value":"input"}}},{"kind":"Argument","name":{"kind":"Name","value":"expectedVersion"},"value":{"kind":"Variable","name":{"kind":"Name","value":"expectedVersion"}}},{"kind":"Argument","name":{"kind":"Name","value":"waitForRunner"},"value":{"kind":"Variable","name":{"kind":"Name","value":"waitForRunner"}}},{"kind":"Argument","name":{"kind":"Name","value":"timeoutMs"},"value":{"kind":"Variable","name":{"kind":"Name","value":"timeoutMs"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"changedFields"}},{"kind":"Field","name":{"kind":"Name","value":"config"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"activeStrategyKey"}},{"kind":"Field","name":{"kind":"Name","value":"tradingEnabled"}},{"kind":"Field","name":{"kind":"Name","value":"scanIntervalSeconds"}},{"kind":"Field","name":{"kind":"Name","value":"tunableOverrides"}},{"kind":"Field","name":{"kind":"Name","value":"version"}},{"kind":"Field","name":{"kind":"Name","value":"updatedAt"}}]}},{"kind":"Field","name":{"kind":"Name","value":"runnerWait"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"applied"}},{"kind":"Field","name":{"kind":"Name","value":"timedOut"}},{"kind":"Field","name":{"kind":"Name","value":"waitedMs"}},{"kind":"Field","name":{"kind":"Name","value":"runnerState"}},{"kind":"Field","name":{"kind":"Name","value":"message"}}]}}]}}]}}]} as unknown as DocumentNode<UpdateConfigMutation, UpdateConfigMutationVariables>;
import SchemaBuilder, { BasePlugin, completeValue, type PothosOutputFieldConfig, reduceMaybeAsync, type SchemaTypes } from '@pothos/core';
import type { GraphQLFieldResolver } from 'graphql';

type ArgMapper = (args: Record<string, unknown>, context: object, info: unknown) => unknown;

const pluginName = 'argsAfterAuth';
/** Where a field's argument mappers wait, moved out of Pothos' own (which run before every resolver wrapper). */
const MAPPERS = 'argsAfterAuthMappers';

/**
 * Argument validation after the scope check. Pothos runs a field's argument mappers (the
 * validation plugin's checks are one) before every plugin's resolver wrapper, scope-auth's among
 * them: a caller with no token or the wrong scope heard what was wrong with its input (400) rather
 * than 401/403. This plugin takes the mappers the plugins after it added and runs them inside its
 * own wrapper instead, which the plugins before it wrap. In the builder's plugin list it goes after
 * ScopeAuthPlugin (so the scope check wraps it) and before ValidationPlugin (whose mappers it
 * takes: field configs pass the plugins last to first).
 */
export class ArgsAfterAuthPlugin<Types extends SchemaTypes> extends BasePlugin<Types> {
  override onOutputFieldConfig(fieldConfig: PothosOutputFieldConfig<Types>): PothosOutputFieldConfig<Types> {
    if (fieldConfig.argMappers.length === 0) return fieldConfig;
    return { ...fieldConfig, argMappers: [], extensions: { ...fieldConfig.extensions, [MAPPERS]: fieldConfig.argMappers } };
  }

  override wrapResolve(
    resolver: GraphQLFieldResolver<unknown, Types['Context'], object>,
    fieldConfig: PothosOutputFieldConfig<Types>,
  ): GraphQLFieldResolver<unknown, Types['Context'], object> {
    const mappers = (fieldConfig.extensions as Record<string, unknown> | undefined)?.[MAPPERS] as ArgMapper[] | undefined;
    if (!mappers) return resolver;
    return (parent, args, context, info) =>
      completeValue(
        reduceMaybeAsync(mappers, args as Record<string, unknown>, (acc, mapper) => mapper(acc, context, info) as Record<string, unknown>),
        (mapped) => resolver(parent, mapped, context, info),
      );
  }

  override wrapSubscribe(
    subscribe: GraphQLFieldResolver<unknown, Types['Context'], object> | undefined,
    fieldConfig: PothosOutputFieldConfig<Types>,
  ): GraphQLFieldResolver<unknown, Types['Context'], object> | undefined {
    const mappers = (fieldConfig.extensions as Record<string, unknown> | undefined)?.[MAPPERS] as ArgMapper[] | undefined;
    if (!mappers || !subscribe) return subscribe;
    return (parent, args, context, info) =>
      completeValue(
        reduceMaybeAsync(mappers, args as Record<string, unknown>, (acc, mapper) => mapper(acc, context, info) as Record<string, unknown>),
        (mapped) => subscribe(parent, mapped, context, info),
      );
  }
}

declare global {
  export namespace PothosSchemaTypes {
    export interface Plugins<Types extends SchemaTypes> {
      argsAfterAuth: ArgsAfterAuthPlugin<Types>;
    }
  }
}

SchemaBuilder.registerPlugin(pluginName, ArgsAfterAuthPlugin);

export default pluginName;

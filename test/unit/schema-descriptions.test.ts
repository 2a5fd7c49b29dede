import {
  type GraphQLNamedType,
  isEnumType,
  isInputObjectType,
  isInterfaceType,
  isIntrospectionType,
  isObjectType,
  isSpecifiedScalarType,
} from 'graphql';
import { describe, expect, it } from 'vitest';
import { schema } from '../../src/graphql/schema/index.js';

const described = (description: string | null | undefined) => (description ?? '').trim() !== '';

/**
 * Every element of the schema a typed-client user sees without a description: types, fields, their
 * arguments, input fields and enum values (introspection types and built-in scalars aside), each
 * named as SDL coordinates say it (`Query.auditLog(last:)`).
 */
function undescribed(types: readonly GraphQLNamedType[]): { missing: string[]; checked: number } {
  const missing: string[] = [];
  let checked = 0;
  const check = (description: string | null | undefined, name: string) => {
    checked += 1;
    if (!described(description)) missing.push(name);
  };
  for (const type of types) {
    if (isIntrospectionType(type) || isSpecifiedScalarType(type)) continue;
    check(type.description, type.name);
    if (isObjectType(type) || isInterfaceType(type)) {
      for (const field of Object.values(type.getFields())) {
        check(field.description, `${type.name}.${field.name}`);
        for (const arg of field.args) {
          check(arg.description, `${type.name}.${field.name}(${arg.name}:)`);
        }
      }
    } else if (isInputObjectType(type)) {
      for (const field of Object.values(type.getFields())) {
        check(field.description, `${type.name}.${field.name}`);
      }
    } else if (isEnumType(type)) {
      for (const value of type.getValues()) {
        check(value.description, `${type.name}.${value.name}`);
      }
    }
  }
  return { missing, checked };
}

describe('schema descriptions', () => {
  // Typed clients (codegen) turn descriptions into doc comments: an element without one is one a
  // client's author has to look up in the resolvers.
  it('describes every type, field, argument, input field and enum value', () => {
    const { missing, checked } = undescribed(Object.values(schema.getTypeMap()));
    expect(checked).toBeGreaterThan(200);
    expect(missing, `${missing.length} of ${checked} schema elements have no description:\n${missing.join('\n')}`).toEqual([]);
  });
});

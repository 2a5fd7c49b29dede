import type { CodegenConfig } from '@graphql-codegen/cli';

// Typed documents for stratctl and the REST routes, from the committed schema and operations/.
// A test regenerates in memory and fails when src/generated is stale: run `npm run codegen`.
const config: CodegenConfig = {
  schema: 'schema.graphql',
  documents: ['operations/*.graphql'],
  ignoreNoDocuments: false,
  generates: {
    'src/generated/': {
      preset: 'client',
      presetConfig: { fragmentMasking: false },
      config: {
        useTypeImports: true,
        enumsAsTypes: true,
        // NodeNext resolution needs the extension on relative imports.
        emitLegacyCommonJSImports: false,
        importExtension: '.js',
        scalars: { JSON: 'unknown', DateTime: 'string' },
        strictScalars: true,
      },
    },
  },
};

export default config;

/** Peer: fastify + mercurius with graphql-jit (`jit: 1`: compiled from the first request on), same schema and data. */
import Fastify from 'fastify';
import mercurius from 'mercurius';
import { announce, loadPeerData, resolversFor, SCHEMA_SDL } from './common.js';

const data = loadPeerData();
const app = Fastify({ keepAliveTimeout: 65_000 });
await app.register(mercurius, { schema: SCHEMA_SDL, resolvers: resolversFor(data) as any, jit: 1 });
await app.listen({ port: 0, host: '127.0.0.1' });
announce((app.server.address() as { port: number }).port);
process.on('SIGTERM', () => void app.close().then(() => process.exit(0)));

/** Peer: stock graphql-yoga (no plugins of ours) on the printed schema, served by node:http. */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createSchema, createYoga } from 'graphql-yoga';
import { announce, loadPeerData, resolversFor, SCHEMA_SDL } from './common.js';

const data = loadPeerData();
const yoga = createYoga({ schema: createSchema({ typeDefs: SCHEMA_SDL, resolvers: resolversFor(data) }) });
const server = createServer(yoga);
server.keepAliveTimeout = 65_000;
server.listen(0, '127.0.0.1', () => announce((server.address() as AddressInfo).port));
process.on('SIGTERM', () => server.close(() => process.exit(0)).closeAllConnections());

import { spawn } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { EtcdTlsSetup } from './etcd.js';

export const openssl = (cwd: string, args: string[]) =>
  new Promise<void>((resolve, reject) => {
    const child = spawn('openssl', args, { cwd, stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    child.stderr.on('data', (c) => (err += c));
    child.on('error', reject);
    child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`openssl ${args[0]} failed: ${err}`))));
  });

/** openssl's `ca -enddate` form: YYMMDDHHMMSSZ. */
const asn1Time = (at: Date) => `${at.toISOString().slice(2, 19).replace(/[-T:]/g, '')}Z`;

/** A new client key (RSA 2048, PEM) in `dir`. */
export async function newClientKey(dir: string, name: string): Promise<string> {
  await openssl(dir, ['genpkey', '-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:2048', '-out', `${name}.key`]);
  return path.join(dir, `${name}.key`);
}

/**
 * A client certificate of `tls`'s CA valid until `notAfter` (to the second), in `dir` (`openssl x509`
 * only counts days; `openssl ca` takes an end date), for `keyFile` (the client key of `tls` unless given).
 */
export async function clientCertUntil(
  tls: EtcdTlsSetup,
  dir: string,
  name: string,
  notAfter: Date,
  keyFile = tls.clientKeyFile,
): Promise<string> {
  const db = path.join(dir, `${name}-db`);
  await mkdir(db, { recursive: true });
  await writeFile(path.join(db, 'index.txt'), '');
  await writeFile(path.join(db, 'serial'), '1000\n');
  const conf = path.join(dir, `${name}.cnf`);
  await writeFile(
    conf,
    `[ca]\ndefault_ca = c\n[c]\ndatabase = ${db}/index.txt\nserial = ${db}/serial\nnew_certs_dir = ${db}\ndefault_md = sha256\npolicy = p\nunique_subject = no\nx509_extensions = ext\n[p]\ncommonName = supplied\n[ext]\nextendedKeyUsage = clientAuth\n`,
  );
  await openssl(dir, ['req', '-new', '-key', keyFile, '-out', `${name}.csr`, '-subj', '/CN=scp-client']);
  const out = path.join(dir, `${name}.crt`);
  await openssl(dir, [
    'ca',
    '-batch',
    '-config',
    conf,
    '-cert',
    tls.caFile,
    '-keyfile',
    path.join(path.dirname(tls.caFile), 'ca.key'),
    '-in',
    `${name}.csr`,
    '-out',
    out,
    '-notext',
    '-startdate',
    asn1Time(new Date(Date.now() - 60_000)),
    '-enddate',
    asn1Time(notAfter),
  ]);
  return out;
}

import { execFileSync } from 'node:child_process';
import { copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readEtcdTlsFiles } from '../../src/store-etcd/tls-files.js';
import { UsageError } from '../../src/usage-error.js';
import { type EtcdTlsSetup, makeTlsFiles } from '../helpers/etcd.js';

// The files an operator passes as --etcd-ca/--etcd-cert/--etcd-key, checked before any member is
// dialled: gRPC reports each of these problems only as "No connection established".
describe('etcd TLS files (store-etcd/tls-files.ts)', () => {
  let dir: string;
  let tls: EtcdTlsSetup;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'scp-tls-files-'));
    tls = await makeTlsFiles(dir); // openssl, as the etcd TLS tests use; valid for 2 days from now
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });
  const files = () => ({ caFile: tls.caFile, certFile: tls.clientCertFile, keyFile: tls.clientKeyFile });
  const refusal = (paths: Parameters<typeof readEtcdTlsFiles>[0], now?: Date) =>
    readEtcdTlsFiles(paths, now).then(
      () => {
        throw new Error('accepted');
      },
      (err: unknown) => {
        expect(err).toBeInstanceOf(UsageError); // exit 2: a setting
        return (err as Error).message;
      },
    );

  it('reads a CA, a certificate and its key as they are', async () => {
    const read = await readEtcdTlsFiles(files());
    expect(read.ca?.toString()).toContain('BEGIN CERTIFICATE');
    expect(read.cert?.toString()).toContain('BEGIN CERTIFICATE');
    expect(read.key?.toString()).toContain('PRIVATE KEY');
    expect(await readEtcdTlsFiles(undefined)).toEqual({ ca: undefined, cert: undefined, key: undefined });
  });

  it('refuses, naming the flag and the file: missing, a directory, empty, not a certificate, not a key', async () => {
    const empty = path.join(dir, 'empty.crt');
    await writeFile(empty, '');
    const folder = path.join(dir, 'folder.crt');
    await mkdir(folder, { recursive: true });
    expect(await refusal({ ...files(), caFile: path.join(dir, 'missing.crt') })).toBe(`--etcd-ca ${path.join(dir, 'missing.crt')}: ENOENT`);
    expect(await refusal({ ...files(), certFile: folder })).toBe(`--etcd-cert ${folder}: EISDIR`);
    expect(await refusal({ ...files(), caFile: empty })).toBe(`--etcd-ca ${empty} holds no PEM certificate (-----BEGIN CERTIFICATE-----)`);
    expect(await refusal({ ...files(), certFile: tls.clientKeyFile })).toContain(
      `--etcd-cert ${tls.clientKeyFile} holds no PEM certificate`,
    );
    expect(await refusal({ ...files(), keyFile: tls.caFile })).toContain(`--etcd-key ${tls.caFile} holds no PEM private key`);
  });

  it("refuses a key that is not the certificate's, and a certificate outside its validity", async () => {
    const otherKey = path.join(dir, 'other.key');
    await copyFile(tls.serverKeyFile, otherKey);
    expect(await refusal({ ...files(), keyFile: otherKey })).toBe(
      `--etcd-key ${otherKey} is not the key of --etcd-cert ${tls.clientCertFile}`,
    );
    const inTenYears = new Date(Date.now() + 10 * 365 * 86_400_000);
    expect(await refusal(files(), inTenYears)).toMatch(
      new RegExp(`^--etcd-cert ${tls.clientCertFile} expired at \\d{4}-\\d\\d-\\d\\dT.*Z: the members refuse it; renew it$`),
    );
    const tenYearsAgo = new Date(Date.now() - 10 * 365 * 86_400_000);
    expect(await refusal(files(), tenYearsAgo)).toMatch(/is not valid before .*\(check this machine's clock\)$/);
  });

  it("refuses DER (binary) files and a PEM bundle with a block that does not parse: Node's TLS refused them after the checks, a crash with a stack (exit 1), or trusted nothing", async () => {
    const der = (from: string, to: string) => execFileSync('openssl', ['x509', '-in', from, '-outform', 'DER', '-out', to]);
    const certDer = path.join(dir, 'client.der');
    const caDer = path.join(dir, 'ca.der');
    der(tls.clientCertFile, certDer);
    der(tls.caFile, caDer);
    const derAdvice = 'it looks like DER (binary): convert it to PEM (openssl x509 -inform DER -in FILE -out FILE.pem)';
    expect(await refusal({ ...files(), certFile: certDer })).toBe(
      `--etcd-cert ${certDer} holds no PEM certificate (-----BEGIN CERTIFICATE-----); ${derAdvice}`,
    );
    expect(await refusal({ ...files(), caFile: caDer })).toBe(
      `--etcd-ca ${caDer} holds no PEM certificate (-----BEGIN CERTIFICATE-----); ${derAdvice}`,
    );
    const broken = '-----BEGIN CERTIFICATE-----\nMIIBAAAA\n-----END CERTIFICATE-----\n';
    const bundle = path.join(dir, 'bundle.crt');
    await writeFile(bundle, `${await readFile(tls.caFile, 'utf8')}${broken}`);
    expect(await refusal({ ...files(), caFile: bundle })).toBe(`--etcd-ca ${bundle}: certificate 2 of 2 is not a valid certificate`);
    const chain = path.join(dir, 'chain.crt');
    await writeFile(chain, `${await readFile(tls.clientCertFile, 'utf8')}${broken}`);
    expect(await refusal({ ...files(), certFile: chain })).toBe(`--etcd-cert ${chain}: certificate 2 of 2 is not a valid certificate`);
    const cut = path.join(dir, 'cut.crt');
    const whole = await readFile(tls.caFile, 'utf8');
    await writeFile(cut, `${whole}${whole.slice(0, whole.length / 2)}`);
    expect(await refusal({ ...files(), caFile: cut })).toBe(
      `--etcd-ca ${cut}: certificate 2 of 2 is cut short (no -----END CERTIFICATE-----)`,
    );
    // A bundle of good ones, and a certificate with its key in one file, are what they were: accepted.
    const two = path.join(dir, 'two.crt');
    await writeFile(two, `${whole}${whole}`);
    const combined = path.join(dir, 'combined.pem');
    await writeFile(combined, `${await readFile(tls.clientCertFile, 'utf8')}${await readFile(tls.clientKeyFile, 'utf8')}`);
    expect((await readEtcdTlsFiles({ ...files(), caFile: two, certFile: combined })).cert?.toString()).toContain('PRIVATE KEY');
  });
});

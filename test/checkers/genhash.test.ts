import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import http from 'node:http';
import type net from 'node:net';
import { promisify } from 'node:util';
import { genhash, genhashMain, parseGenhashArgs, hexDump } from '../../src/checkers/genhash.js';

describe('checkers/genhash', () => {
  let srv: http.Server;
  let port: number;
  before(async () => {
    srv = http.createServer((req, res) => {
      if (req.url === '/chunked') {
        // no Content-Length: HTTP/1.1 would chunk, but a 1.0 request gets the raw body until close
        res.write('abc');
        return res.end('def');
      }
      res.writeHead(200, { 'Content-Length': 6 });
      res.end('hello\n');
    });
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()));
    port = (srv.address() as net.AddressInfo).port;
  });
  after(() => new Promise<void>((r) => (srv.closeAllConnections(), srv.close(() => r()))));

  it('genhash(): MD5 of the body', async () => {
    assert.equal(await genhash({ host: '127.0.0.1', port, path: '/' }), createHash('md5').update('hello\n').digest('hex'));
    assert.equal(await genhash({ url: `http://127.0.0.1:${port}/chunked` }), createHash('md5').update('abcdef').digest('hex'));
  });

  it('genhashMain prints the digest as keepalived 2.2 genhash (32 hex digits + newline)', async () => {
    let out = '';
    let err = '';
    const rc = await genhashMain(['-s', '127.0.0.1', '-p', String(port), '-u', '/'], { out: (s) => (out += s), err: (s) => (err += s) });
    assert.equal(rc, 0);
    assert.equal(out, 'b1946ac92492d2347c6235b4d2611184\n');
    assert.equal(err, '');
  });

  it('same digest as the installed keepalived genhash', async function () {
    let theirs: string;
    try {
      theirs = (await promisify(execFile)('genhash', ['-s', '127.0.0.1', '-p', String(port), '-u', '/chunked'])).stdout;
    } catch {
      return this.skip();
    }
    let out = '';
    await genhashMain(['--server', '127.0.0.1', `--port=${port}`, '-u/chunked'], { out: (s) => (out += s), err: () => {} });
    assert.equal(out, theirs);
  });

  it('usage errors: missing mandatory options, bad port, unknown option', async () => {
    assert.deepEqual(parseGenhashArgs(['-s', '127.0.0.1']), { error: '' });
    assert.deepEqual(parseGenhashArgs(['-s', '127.0.0.1', '-p', '0', '-u', '/']), { error: "invalid port number '0'" });
    assert.deepEqual(parseGenhashArgs(['-x']), { error: 'Unknown option -x' });
    assert.deepEqual(parseGenhashArgs(['-s', 'example.com', '-p', '80', '-u', '/']), { error: 'server should be an IP, not example.com' });
    let err = '';
    assert.equal(await genhashMain(['-h'], { out: () => {}, err: (s) => (err += s) }), 1);
    assert.match(err, /Usage: hacheck genhash/);
  });

  it('connection refused → exit 1 with the reason', async () => {
    let err = '';
    const rc = await genhashMain(['-s', '127.0.0.1', '-p', '1', '-u', '/', '-t', '1'], { out: () => {}, err: (s) => (err += s) });
    assert.equal(rc, 1);
    assert.equal(err, 'connect ECONNREFUSED\n');
  });

  it('hexDump in keepalived\'s layout', () => {
    assert.equal(hexDump(Buffer.from('hello\n')), '0000  68 65 6c 6c 6f 0a       -                           hello.\n');
  });
});

// Each checker against real servers on loopback, written here.

import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import dgram from 'node:dgram';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync, chmodSync, readFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { ConnOpts, DnsCheck, HttpCheck, HttpUrl, MiscCheck, UdpCheck } from '../../src/config/model/checkers.js';
import type { Loc } from '../../src/config/diagnostics.js';
import { tcpCheck } from '../../src/checkers/tcp.js';
import { httpCheck, buildRequest, extractStatusCode, extractContentLength } from '../../src/checkers/http.js';
import { smtpCheck, smtpStatus } from '../../src/checkers/smtp.js';
import { dnsCheck, buildDnsQuery, judgeDnsResponse } from '../../src/checkers/dns.js';
import { udpCheck, udpReplyMatches, defaultUdpPayload } from '../../src/checkers/udp.js';
import { miscCheck } from '../../src/checkers/misc.js';
import { pingCheck, closePingSockets } from '../../src/checkers/ping.js';

const loc = { file: 'test', line: 1 } as unknown as Loc;
const timing = { alpha: false, logAllFailures: false, retry: 1, delayLoopMs: 1000, warmupMs: 0, delayBeforeRetryMs: 100 };
const conn = (port: number, timeoutMs = 1000, ip = '127.0.0.1'): ConnOpts => ({ connectIp: ip, family: ip.includes(':') ? 'inet6' : 'inet', connectPort: port, connectTimeoutMs: timeoutMs });
const never = () => new AbortController().signal;

function listen(server: net.Server, host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve) => server.listen(0, host, () => resolve((server.address() as net.AddressInfo).port)));
}
function close(server: net.Server | undefined): Promise<void> {
  if (!server) return Promise.resolve();
  (server as http.Server).closeAllConnections?.();
  return new Promise((resolve) => server.close(() => resolve()));
}
/** A port nothing listens on. */
async function closedPort(): Promise<number> {
  const s = net.createServer();
  const p = await listen(s);
  await close(s);
  return p;
}

function url(path: string, extra: Partial<HttpUrl> = {}): HttpUrl {
  return { path, statusCodes: [[200, 299]], regexNoMatch: false, regexOptions: [], loc, ...extra };
}
function httpChk(port: number, urls: HttpUrl[], extra: Partial<HttpCheck> = {}, timeoutMs = 1000): HttpCheck {
  return { type: 'HTTP_GET', loc, ...timing, conn: conn(port, timeoutMs), urls, httpProtocol: '1.0', enableSni: false, fastRecovery: false, tlsCompliant: false, ...extra };
}

const BODY = 'hello\n';
const BODY_MD5 = createHash('md5').update(BODY).digest('hex');

describe('checkers: TCP_CHECK', () => {
  let srv: net.Server;
  after(() => close(srv));
  it('up when the port listens', async () => {
    srv = net.createServer((s) => s.destroy());
    const port = await listen(srv);
    assert.deepEqual(await tcpCheck({ conn: conn(port) })(never()), { ok: true });
  });
  it('down with "connect ECONNREFUSED" when nothing listens', async () => {
    const r = await tcpCheck({ conn: conn(await closedPort()) })(never());
    assert.deepEqual(r, { ok: false, reason: 'connect ECONNREFUSED' });
  });
  it('binds to bindto', async () => {
    let from = '';
    const s2 = net.createServer((s) => {
      from = s.remoteAddress!;
      s.destroy();
    });
    const port = await listen(s2);
    const r = await tcpCheck({ conn: { ...conn(port), bindto: '127.0.0.2' } })(never());
    await close(s2);
    assert.equal(r.ok, true);
    assert.equal(from, '127.0.0.2');
  });
});

describe('checkers: HTTP_GET', () => {
  let srv: http.Server;
  let port: number;
  const seen: { url?: string; host?: string; ua?: string; version?: string }[] = [];
  before(async () => {
    srv = http.createServer((req, res) => {
      seen.push({ url: req.url, host: req.headers.host, ua: req.headers['user-agent'], version: req.httpVersion });
      switch (req.url) {
        case '/ok':
          res.writeHead(200, { 'Content-Type': 'text/plain', 'Content-Length': BODY.length });
          return res.end(BODY);
        case '/503':
          res.writeHead(503);
          return res.end('busy');
        case '/slow':
          // the header and part of the body, then nothing
          res.writeHead(200, { 'Content-Length': 100 });
          res.write('part');
          return;
        case '/hang':
          return; // accepted, never answered
        case '/redirect':
          res.writeHead(302, { Location: '/ok' });
          return res.end();
        default:
          res.writeHead(404);
          res.end();
      }
    });
    port = await listen(srv);
  });
  after(() => close(srv));

  it('sends keepalived\'s request (HTTP/1.0, KeepAliveClient, Host ip:port)', async () => {
    seen.length = 0;
    assert.deepEqual(await httpCheck(httpChk(port, [url('/ok')]))(never()), { ok: true });
    assert.deepEqual(seen[0], { url: '/ok', host: `127.0.0.1:${port}`, ua: 'KeepAliveClient', version: '1.0' });
  });
  it('virtualhost becomes the Host header; http_protocol 1.1 is sent', async () => {
    seen.length = 0;
    await httpCheck(httpChk(port, [url('/ok', { virtualhost: 'www.example.com' })], { httpProtocol: '1.1' }))(never());
    assert.equal(seen[0].host, 'www.example.com');
    assert.equal(seen[0].version, '1.1');
  });
  it('503 → "status 503 not in 200-299"', async () => {
    assert.deepEqual(await httpCheck(httpChk(port, [url('/503')]))(never()), { ok: false, reason: 'status 503 not in 200-299' });
  });
  it('status_code ranges accept other codes', async () => {
    const r = await httpCheck(httpChk(port, [url('/503', { statusCodes: [[500, 503], [200, 200]] })]))(never());
    assert.deepEqual(r, { ok: true });
  });
  it('redirects are not followed (302 is not 2xx)', async () => {
    assert.equal((await httpCheck(httpChk(port, [url('/redirect')]))(never())).reason, 'status 302 not in 200-299');
  });
  it('right digest passes, wrong digest → "digest mismatch"', async () => {
    assert.deepEqual(await httpCheck(httpChk(port, [url('/ok', { digest: BODY_MD5 })]))(never()), { ok: true });
    const r = await httpCheck(httpChk(port, [url('/ok', { digest: '0'.repeat(32) })]))(never());
    assert.equal(r.ok, false);
    assert.equal(r.reason, 'digest mismatch');
  });
  it('every url is checked; the failing one is named', async () => {
    const r = await httpCheck(httpChk(port, [url('/ok'), url('/503')]))(never());
    assert.equal(r.reason, 'url /503: status 503 not in 200-299');
  });
  it('regex / regex_no_match on the body', async () => {
    assert.equal((await httpCheck(httpChk(port, [url('/ok', { regex: '^hel+o' })]))(never())).ok, true);
    assert.equal((await httpCheck(httpChk(port, [url('/ok', { regex: 'nope' })]))(never())).reason, 'regex not matched');
    assert.equal((await httpCheck(httpChk(port, [url('/ok', { regex: 'hello', regexNoMatch: true })]))(never())).reason, 'regex matched');
  });
  it('a body slower than connect_timeout → read timeout', async () => {
    const t0 = performance.now();
    const r = await httpCheck(httpChk(port, [url('/slow')], {}, 300))(never());
    assert.deepEqual(r, { ok: false, reason: 'read timeout 0.3s' });
    assert.ok(performance.now() - t0 < 3000);
  });
  it('a server that accepts and never answers → timeout', async () => {
    const r = await httpCheck(httpChk(port, [url('/hang')], {}, 300))(never());
    assert.deepEqual(r, { ok: false, reason: 'read timeout 0.3s' });
  });
  it('refused → "connect ECONNREFUSED"', async () => {
    const r = await httpCheck(httpChk(await closedPort(), [url('/ok')]))(never());
    assert.deepEqual(r, { ok: false, reason: 'connect ECONNREFUSED' });
  });
  it('a server closing without a response → "no data received"', async () => {
    const s = net.createServer((c) => {
      c.resume(); // read the request, so the client's FIN is seen and the socket closes
      c.end();
    });
    const p = await listen(s);
    const r = await httpCheck(httpChk(p, [url('/ok')]))(never());
    await close(s);
    assert.deepEqual(r, { ok: false, reason: 'no data received' });
  });
  it('the digest covers the raw body, capped at Content-Length, as keepalived', async () => {
    const s = net.createServer((c) => {
      c.once('data', () => c.end('HTTP/1.0 200 OK\r\nContent-Length: 3\r\n\r\nabcdef'));
    });
    const p = await listen(s);
    const md5 = createHash('md5').update('abc').digest('hex');
    const r = await httpCheck(httpChk(p, [url('/', { digest: md5 })]))(never());
    await close(s);
    assert.deepEqual(r, { ok: true });
  });
  it('pure helpers: request text, status and Content-Length extraction', () => {
    assert.equal(buildRequest({ path: '/x', protocol: '1.0C', ip: '::1', port: 80, family: 'inet6' }), 'GET /x HTTP/1.0\r\nUser-Agent: KeepAliveClient\r\nConnection: close\r\nHost: [::1]:80\r\n\r\n');
    assert.equal(extractStatusCode('HTTP/1.1 204 No Content\r\n'), 204);
    assert.equal(extractStatusCode('HTTP/1.1 2040 x'), 0);
    assert.equal(extractContentLength('HTTP/1.0 200 OK\r\nContent-Length: 12\r\n\r\n'), 12);
    assert.equal(extractContentLength('HTTP/1.0 200 OK\r\ncontent-length: 12\r\n\r\n'), undefined);
  });
});

describe('checkers: SSL_GET', function () {
  let dir: string;
  let srv: https.Server;
  let port: number;
  let sni: string | undefined | null | false;
  before(async function () {
    dir = mkdtempSync(join(tmpdir(), 'hacheck-ssl-'));
    try {
      await promisify(execFile)('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem'), '-days', '1', '-subj', '/CN=test.local']);
    } catch (e) {
      this.skip();
    }
    srv = https.createServer({ key: readFileSync(join(dir, 'key.pem')), cert: readFileSync(join(dir, 'cert.pem')) }, (req, res) => {
      sni = (req.socket as import('node:tls').TLSSocket).servername;
      if (req.url === '/ok') {
        res.writeHead(200, { 'Content-Length': BODY.length });
        res.end(BODY);
      } else {
        res.writeHead(500);
        res.end();
      }
    });
    port = await listen(srv);
  });
  after(async () => {
    await close(srv);
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('a self-signed certificate is accepted (keepalived does not verify); digest of the body', async () => {
    const r = await httpCheck(httpChk(port, [url('/ok', { digest: BODY_MD5 })], { type: 'SSL_GET' }))(never());
    assert.deepEqual(r, { ok: true });
    assert.equal(sni, false);
  });
  it('enable_sni sends the virtualhost as SNI', async () => {
    await httpCheck(httpChk(port, [url('/ok', { virtualhost: 'sni.example' })], { type: 'SSL_GET', enableSni: true }))(never());
    assert.equal(sni, 'sni.example');
  });
  it('status errors over TLS', async () => {
    assert.equal((await httpCheck(httpChk(port, [url('/x')], { type: 'SSL_GET' }))(never())).reason, 'status 500 not in 200-299');
  });
  it('a plain-HTTP server fails the TLS handshake', async () => {
    const s = net.createServer((c) => c.once('data', () => c.end('HTTP/1.0 200 OK\r\n\r\n')));
    const p = await listen(s);
    const r = await httpCheck(httpChk(p, [url('/ok')], { type: 'SSL_GET' }))(never());
    await close(s);
    assert.equal(r.ok, false);
    assert.match(r.reason!, /^tls /);
  });
});

describe('checkers: SMTP_CHECK', () => {
  const servers: net.Server[] = [];
  after(() => Promise.all(servers.map(close)));
  async function smtpServer(banner: string, heloReply = '250 hello'): Promise<{ port: number; lines: string[] }> {
    const lines: string[] = [];
    const s = net.createServer((c) => {
      c.write(`${banner}\r\n`);
      let buf = '';
      c.on('data', (d) => {
        buf += d;
        let i;
        while ((i = buf.indexOf('\r\n')) >= 0) {
          const line = buf.slice(0, i);
          buf = buf.slice(i + 2);
          lines.push(line);
          if (line.startsWith('HELO')) c.write(`${heloReply}\r\n`);
          else if (line === 'QUIT') c.end('221 bye\r\n');
        }
      });
      c.on('error', () => {});
    });
    servers.push(s);
    return { port: await listen(s), lines };
  }
  it('220 banner, HELO helo_name, 250, QUIT → up', async () => {
    const { port, lines } = await smtpServer('220 mx.test ESMTP');
    const r = await smtpCheck({ conn: conn(port), heloName: 'checker.test' })(never());
    assert.deepEqual(r, { ok: true });
    assert.deepEqual(lines, ['HELO checker.test', 'QUIT']);
  });
  it('bad banner → down with keepalived\'s text as detail', async () => {
    const { port } = await smtpServer('554 go away');
    const r = await smtpCheck({ conn: conn(port), heloName: 'x' })(never());
    assert.deepEqual(r, { ok: false, reason: 'banner 554', detail: `Bad greeting banner from server [127.0.0.1]:${port}` });
  });
  it('bad HELO reply → down', async () => {
    const { port } = await smtpServer('220 ok', '501 no');
    assert.equal((await smtpCheck({ conn: conn(port), heloName: 'x' })(never())).reason, 'helo 501');
  });
  it('silent server → banner timeout', async () => {
    const s = net.createServer(() => {});
    servers.push(s);
    const port = await listen(s);
    assert.equal((await smtpCheck({ conn: conn(port, 200), heloName: 'x' })(never())).reason, 'banner timeout 0.2s');
  });
  it('smtpStatus as keepalived: 3 digits then space or end', () => {
    assert.equal(smtpStatus('220 hi'), 220);
    assert.equal(smtpStatus('220'), 220);
    assert.equal(smtpStatus('220-hi'), -1);
    assert.equal(smtpStatus('22 hi'), -1);
  });
});

describe('checkers: DNS_CHECK', () => {
  let sock: dgram.Socket;
  let port: number;
  let rcode = 0;
  let respond = true;
  const queries: Buffer[] = [];
  before(
    () =>
      new Promise<void>((resolve) => {
        sock = dgram.createSocket('udp4');
        sock.on('message', (m, rinfo) => {
          queries.push(m);
          if (!respond) return;
          // a response: same ID and question, QR set, the chosen RCODE, no answers
          const r = Buffer.from(m);
          r.writeUInt16BE(0x8180 | rcode, 2);
          sock.send(r, rinfo.port, rinfo.address);
        });
        sock.bind(0, '127.0.0.1', () => {
          port = sock.address().port;
          resolve();
        });
      }),
  );
  after(() => sock.close());
  const chk = (p: number, timeoutMs = 500): Pick<DnsCheck, 'conn' | 'name' | 'dnsType'> => ({ conn: conn(p, timeoutMs), name: 'example.com', dnsType: 'A' });

  it('NOERROR response → up; the query is keepalived\'s (RD, one question, type, class IN)', async () => {
    rcode = 0;
    assert.deepEqual(await dnsCheck(chk(port))(never()), { ok: true });
    const q = queries.at(-1)!;
    assert.equal(q.readUInt16BE(2), 0x0100);
    assert.equal(q.readUInt16BE(4), 1);
    assert.deepEqual(q.subarray(12), Buffer.from('076578616d706c6503636f6d0000010001', 'hex'));
  });
  it('SERVFAIL → "rcode 2"', async () => {
    rcode = 2;
    const r = await dnsCheck(chk(port))(never());
    rcode = 0;
    assert.deepEqual(r, { ok: false, reason: 'rcode 2', detail: 'read error occurred. (rcode = 2)' });
  });
  it('no answer → read timeout', async () => {
    respond = false;
    const r = await dnsCheck(chk(port, 200))(never());
    respond = true;
    assert.equal(r.reason, 'read timeout 0.2s');
  });
  it('ICMP port unreachable → recv ECONNREFUSED', async () => {
    const p = await closedPort();
    const r = await dnsCheck(chk(p))(never());
    assert.equal(r.reason, 'recv ECONNREFUSED');
  });
  it('pure: root query, responses with another ID or QR=0 are ignored', () => {
    assert.deepEqual(buildDnsQuery(1, '', 'SOA').subarray(12), Buffer.from('0000060001', 'hex'));
    const q = buildDnsQuery(7, 'a', 'A');
    assert.deepEqual(judgeDnsResponse(8, q), { kind: 'ignore' });
    assert.deepEqual(judgeDnsResponse(7, q), { kind: 'ignore' });
  });
});

describe('checkers: UDP_CHECK', () => {
  let sock: dgram.Socket;
  let port: number;
  let silent = false;
  const got: Buffer[] = [];
  before(
    () =>
      new Promise<void>((resolve) => {
        sock = dgram.createSocket('udp4');
        sock.on('message', (m, rinfo) => {
          got.push(m);
          if (!silent) sock.send(Buffer.from('pong'), rinfo.port, rinfo.address);
        });
        sock.bind(0, '127.0.0.1', () => {
          port = sock.address().port;
          resolve();
        });
      }),
  );
  after(() => sock.close());
  const chk = (p: number, extra: Partial<UdpCheck> = {}): UdpCheck => ({ type: 'UDP_CHECK', loc, ...timing, conn: conn(p, 300), requireReply: false, minReplyLength: 0, maxReplyLength: 255, ...extra });

  it('sends the payload; a reply passes', async () => {
    assert.deepEqual(await udpCheck(chk(port, { payload: '70696e67' }))(never()), { ok: true });
    assert.equal(got.at(-1)!.toString(), 'ping');
  });
  it('default payload is keepalived\'s 32 bytes', async () => {
    await udpCheck(chk(port))(never());
    assert.deepEqual(got.at(-1), defaultUdpPayload());
    assert.equal(got.at(-1)!.toString(), 'keepalived check - keepalived ch');
  });
  it('ICMP port unreachable → down "recv ECONNREFUSED"', async () => {
    const r = await udpCheck(chk(await closedPort()))(never());
    assert.deepEqual(r, { ok: false, reason: 'recv ECONNREFUSED' });
  });
  it('silence: up without require_reply, down with it', async () => {
    silent = true;
    try {
      assert.deepEqual(await udpCheck(chk(port))(never()), { ok: true });
      assert.deepEqual(await udpCheck(chk(port, { requireReply: true }))(never()), { ok: false, reason: 'reply timeout 0.3s' });
    } finally {
      silent = false;
    }
  });
  it('require_reply data must match (x = wildcard nibble)', async () => {
    assert.equal((await udpCheck(chk(port, { requireReply: true, reply: '706f6e67' }))(never())).ok, true);
    assert.equal((await udpCheck(chk(port, { requireReply: true, reply: '706f0e67', replyMask: '0000f000' }))(never())).ok, true);
    assert.equal((await udpCheck(chk(port, { requireReply: true, reply: '78' }))(never())).reason, 'reply mismatch');
    assert.equal(udpReplyMatches(Buffer.from('pong'), { reply: '70', minReplyLength: 5, maxReplyLength: 255 }), false);
  });
});

describe('checkers: MISC_CHECK', () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'hacheck-misc-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));
  function script(body: string): string {
    const p = join(dir, `s${Math.random().toString(36).slice(2)}.sh`);
    writeFileSync(p, `#!/bin/sh\n${body}\n`);
    chmodSync(p, 0o755);
    return p;
  }
  const chk = (path: string, dynamic = false, timeoutMs = 2000): MiscCheck => ({
    type: 'MISC_CHECK',
    loc,
    ...timing,
    miscPath: path,
    script: { kind: 'misc_check', argv: [path], raw: path, loc, owner: 'test' },
    timeoutMs,
    dynamic,
  });
  it('exit 0 → up', async () => {
    assert.deepEqual(await miscCheck(chk(script('exit 0')))(never()), { ok: true });
  });
  it('exit 1 → down', async () => {
    assert.deepEqual(await miscCheck(chk(script('exit 1')))(never()), { ok: false, reason: 'exit 1', detail: 'exited with status 1' });
  });
  it('misc_dynamic: exit 3 → up with weight 1; exit 1 still down', async () => {
    assert.deepEqual(await miscCheck(chk(script('exit 3'), true))(never()), { ok: true, weight: 1 });
    assert.equal((await miscCheck(chk(script('exit 1'), true))(never())).ok, false);
  });
  it('without misc_dynamic exit 3 is down', async () => {
    assert.equal((await miscCheck(chk(script('exit 3')))(never())).ok, false);
  });
  it('a script running past misc_timeout is killed → "timeout"', async () => {
    const t0 = performance.now();
    const r = await miscCheck(chk(script('sleep 30'), false, 300))(never());
    assert.deepEqual(r, { ok: false, reason: 'timeout 0.3s' });
    assert.ok(performance.now() - t0 < 5000);
  });
  it('a missing script → exec error', async () => {
    const r = await miscCheck(chk(join(dir, 'nope')))(never());
    assert.equal(r.ok, false);
    assert.match(r.reason!, /^exec ENOENT/);
  });
});

describe('checkers: PING_CHECK', function () {
  after(() => closePingSockets());
  it('echo reply from 127.0.0.1 (needs CAP_NET_RAW)', async function () {
    if (process.getuid?.() !== 0) this.skip();
    const r = await pingCheck({ conn: conn(0, 1000) })(never());
    assert.deepEqual(r, { ok: true });
  });
  it('echo reply from ::1', async function () {
    if (process.getuid?.() !== 0) this.skip();
    const r = await pingCheck({ conn: conn(0, 1000, '::1') })(never());
    if (!r.ok && /EAFNOSUPPORT|EADDRNOTAVAIL|ENETUNREACH/.test(r.reason ?? '')) this.skip();
    assert.deepEqual(r, { ok: true });
  });
});

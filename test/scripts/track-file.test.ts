import { strict as assert } from 'node:assert';
import { mkdirSync, readFileSync, realpathSync, renameSync, symlinkSync, unlinkSync, writeFileSync } from 'node:fs';
import { TrackFileWatcher, initTrackFile, parseTrackFile, readTrackFile, strtol0 } from '../../src/scripts/track-file.js';
import { TmpDir, captureLogger, sleep } from './support.js';

describe('scripts/track-file parsing (pure, keepalived strtol base 0)', () => {
  it('decimal, sign, blanks, trailing text', () => {
    assert.equal(strtol0('42\n'), 42);
    assert.equal(strtol0('  -7 apples'), -7);
    assert.equal(strtol0('+3'), 3);
    assert.equal(strtol0('12abc'), 12);
  });
  it('hex and octal as C does', () => {
    assert.equal(strtol0('0x1f'), 31);
    assert.equal(strtol0('010'), 8);
    assert.equal(strtol0('09'), 0); // octal stops at 9
    assert.equal(strtol0('0x'), 0);
  });
  it('not a number reads 0', () => {
    assert.equal(strtol0('abc'), 0);
    assert.equal(strtol0(''), 0);
  });
  it('overflowing a long is reported', () => {
    assert.deepEqual(strtol0('99999999999999999999'), { overflow: true });
    assert.equal(strtol0('-9223372036854775808'), -9223372036854775808);
  });
  it('range [-2^31, 2^31]: outside is invalid (previous value kept)', () => {
    assert.deepEqual(parseTrackFile('2147483648'), { value: 2147483648 });
    assert.deepEqual(parseTrackFile('-2147483648'), { value: -2147483648 });
    assert.ok('invalid' in parseTrackFile('2147483649'));
    assert.ok('invalid' in parseTrackFile('99999999999999999999'));
    assert.deepEqual(parseTrackFile(undefined), { value: 0 });
    assert.deepEqual(parseTrackFile(''), { value: 0 });
  });
});

describe('scripts/track-file on real files', function () {
  this.timeout(30000);
  let tmp: TmpDir;
  const watchers: TrackFileWatcher[] = [];
  beforeEach(() => {
    tmp = new TmpDir();
  });
  afterEach(() => {
    for (const w of watchers.splice(0)) w.stop();
    tmp.cleanup();
  });

  async function nextChange(w: TrackFileWatcher, ms = 5000): Promise<[number, number]> {
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => reject(new Error('no change')), ms);
      w.once('change', (v, p) => {
        clearTimeout(t);
        resolve([v, p]);
      });
    });
  }

  it('readTrackFile: missing → 0, value, garbage → 0', async () => {
    assert.deepEqual(await readTrackFile(tmp.path('none')), { value: 0 });
    writeFileSync(tmp.path('f'), '-25\n');
    assert.deepEqual(await readTrackFile(tmp.path('f')), { value: -25 });
    writeFileSync(tmp.path('f'), 'hello');
    assert.deepEqual(await readTrackFile(tmp.path('f')), { value: 0 });
  });

  it('init_file: creates when missing, keeps an existing file unless overwrite', async () => {
    const p = tmp.path('tf');
    assert.equal(await initTrackFile('tf', p, { value: 5, overwrite: false }), undefined);
    assert.equal(readFileSync(p, 'utf8'), '5\n');
    assert.equal(await initTrackFile('tf', p, { value: 9, overwrite: false }), undefined);
    assert.equal(readFileSync(p, 'utf8'), '5\n');
    assert.equal(await initTrackFile('tf', p, { value: 9, overwrite: true }, true), undefined);
    assert.equal(readFileSync(p, 'utf8'), '5\n', 'not overwritten at reload');
    assert.equal(await initTrackFile('tf', p, { value: -3, overwrite: true }), undefined);
    assert.equal(readFileSync(p, 'utf8'), '-3\n');
    mkdirSync(tmp.path('d'));
    assert.equal(await initTrackFile('td', tmp.path('d'), { value: 1, overwrite: true }), 'Cannot initialise track file td - it is not a regular file');
  });

  it('watcher: initial value, then changes by write, rename-in and delete (→ 0)', async () => {
    const p = tmp.path('tf');
    writeFileSync(p, '10\n');
    const w = new TrackFileWatcher({ name: 'tf', file: p, pollMs: 0 });
    watchers.push(w);
    await w.start();
    assert.equal(w.value, 10);
    let c = nextChange(w);
    writeFileSync(p, '20\n');
    assert.deepEqual(await c, [20, 10]);
    c = nextChange(w);
    writeFileSync(tmp.path('new'), '-5\n');
    renameSync(tmp.path('new'), p);
    assert.deepEqual(await c, [-5, 20]);
    c = nextChange(w);
    unlinkSync(p);
    assert.deepEqual(await c, [0, -5]);
    c = nextChange(w);
    writeFileSync(p, '7');
    assert.deepEqual(await c, [7, 0]);
  });

  it('watcher: a file that does not exist yet starts at 0', async () => {
    const w = new TrackFileWatcher({ name: 'tf', file: tmp.path('later'), pollMs: 0 });
    watchers.push(w);
    await w.start();
    assert.equal(w.value, 0);
    const c = nextChange(w);
    writeFileSync(tmp.path('later'), '3\n');
    assert.deepEqual(await c, [3, 0]);
  });

  it('watcher: an invalid number is logged and ignored', async () => {
    const p = tmp.path('tf');
    writeFileSync(p, '4');
    const cap = captureLogger();
    const w = new TrackFileWatcher({ name: 'tf', file: p, pollMs: 0, logger: cap.logger });
    watchers.push(w);
    await w.start();
    writeFileSync(p, '99999999999');
    const end = Date.now() + 5000;
    while (!cap.msgs().some((m) => m.startsWith('Invalid number')) && Date.now() < end) await sleep(10);
    assert.ok(cap.msgs().includes(`Invalid number 99999999999 read from ${p} - ignoring`));
    assert.equal(w.value, 4);
  });

  it('watcher: the poll fallback alone sees changes (fs watch closed)', async () => {
    const p = tmp.path('tf');
    writeFileSync(p, '1');
    const w = new TrackFileWatcher({ name: 'tf', file: p, pollMs: 50 });
    watchers.push(w);
    await w.start();
    // stop the fs watch to prove the poll alone finds changes
    (w as unknown as { watcher?: { close(): void } }).watcher?.close();
    const c = nextChange(w);
    writeFileSync(p, '2');
    assert.deepEqual(await c, [2, 1]);
  });

  it('watcher: resolves a symlinked path; a missing directory is refused', async () => {
    writeFileSync(tmp.path('real'), '6');
    symlinkSync(tmp.path('real'), tmp.path('link'));
    const w = new TrackFileWatcher({ name: 'tf', file: tmp.path('link'), pollMs: 0 });
    watchers.push(w);
    await w.start();
    assert.equal(w.path, realpathSync(tmp.path('real')));
    assert.equal(w.value, 6);
    const bad = new TrackFileWatcher({ name: 'bad', file: tmp.path('no/dir/file') });
    await assert.rejects(bad.start(), /Track file directory for bad does not exist - removing/);
  });
});

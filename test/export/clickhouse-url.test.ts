import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseClickHouseUrl } from '../../src/export/clickhouse-url';
import { classifyError, parseServerVersion, versionAtLeast } from '../../src/export/clickhouse-sink';
import { ExportError } from '../../src/export/export-error';

test('ClickHouse URLs: clickhouse://, http://, https://; user, password (URL or environment), default port 8123', () => {
  assert.deepEqual(parseClickHouseUrl('clickhouse://ch1:8124/fleet', {}), {
    httpUrl: 'http://ch1:8124',
    database: 'fleet',
    username: 'default',
    password: '',
    display: 'clickhouse://ch1:8124/fleet',
  });
  const withUser = parseClickHouseUrl('clickhouse://ws:p%40ss@10.0.0.9/fleet_db', {});
  assert.equal(withUser.httpUrl, 'http://10.0.0.9:8123');
  assert.equal(withUser.username, 'ws');
  assert.equal(withUser.password, 'p@ss');
  assert.doesNotMatch(withUser.display, /p@ss|p%40ss|ws:/, 'the password never shows');
  assert.equal(parseClickHouseUrl('https://ch.example/x', {}).httpUrl, 'https://ch.example:8443');
  assert.equal(parseClickHouseUrl('http://[::1]:8123/x', {}).httpUrl, 'http://[::1]:8123');
  assert.equal(parseClickHouseUrl('clickhouse://ws@h/x', { WIRESTATE_CLICKHOUSE_PASSWORD: 'from-env' }).password, 'from-env');
  assert.equal(parseClickHouseUrl('clickhouse://ws:url@h/x', { WIRESTATE_CLICKHOUSE_PASSWORD: 'from-env' }).password, 'url');
  for (const bad of ['clickhouse://h:8123', 'clickhouse://h/a.b', 'mysql://h/x', 'clickhouse://h/x?secure=1', '', 'h:8123/x']) {
    assert.throws(() => parseClickHouseUrl(bad, {}), (e: unknown) => e instanceof ExportError && e.code === 'bad_url' && !e.message.includes('\n'), bad);
  }
});

test('server errors of 18.16 and of 24.x read the same: code and message, one line', () => {
  const target = parseClickHouseUrl('clickhouse://h:8123/nodb', {});
  // 18.16.1's text, as the test server answers (export-command.test.ts sees it for real).
  const old = classifyError(new Error("Code: 81, e.displayText() = DB::Exception: Database nodb doesn't exist, e.what() = DB::Exception"), target);
  // The newer servers' layout: "Code: N. DB::Exception: text. (NAME) (version …)".
  const neu = classifyError(new Error('Code: 81. DB::Exception: Database nodb does not exist. (UNKNOWN_DATABASE) (version 24.3.2.23 (official build))'), target);
  for (const e of [old, neu]) {
    assert.equal(e.code, 'unknown_database');
    assert.equal(e.message, 'clickhouse://h:8123/nodb: no database nodb on the server (create it: wirestate clickhouse init clickhouse://h:8123/nodb --create-database)');
  }
  const auth = classifyError(new Error('Code: 516. DB::Exception: ws: Authentication failed: password is incorrect, or there is no user with such name. (AUTHENTICATION_FAILED) (version 24.3.2.23 (official build))'), target);
  assert.equal(auth.code, 'auth');
  assert.equal(auth.message, 'clickhouse://h:8123/nodb: authentication failed for user default (ws: Authentication failed: password is incorrect, or there is no user with such name.)');
  const refused = classifyError(Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:8123'), { code: 'ECONNREFUSED' }), target);
  assert.equal(refused.code, 'unreachable');
  assert.equal(refused.transient, true);
  assert.equal(auth.transient, false);
});

test('server versions compare by number', () => {
  const v = parseServerVersion('18.16.1');
  assert.deepEqual(v, [18, 16, 1]);
  assert.equal(versionAtLeast(v, [19, 6]), false);
  assert.equal(versionAtLeast(parseServerVersion('24.3.2.23'), [19, 6]), true);
  assert.equal(versionAtLeast(parseServerVersion('19.6.1'), [19, 6]), true);
  assert.equal(versionAtLeast(parseServerVersion('19.5.9'), [19, 6]), false);
});

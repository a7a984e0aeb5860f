'use strict';
// Unit tests of the client that need no daemon.
const test = require('node:test');
const assert = require('node:assert');
const os = require('node:os');
const path = require('node:path');
const { Client, ciLabels, labelValue } = require('../index.js');

test('CI labels', () => {
  assert.deepStrictEqual(ciLabels({ GITHUB_RUN_ID: '42', GITHUB_JOB: 'test', GITHUB_REPOSITORY: 'acme/app' }),
    { 'ci.provider': 'github', 'ci.run_id': '42', 'ci.job': 'test', 'ci.repository': 'acme/app' });
  assert.deepStrictEqual(ciLabels({ CI_PIPELINE_ID: '7', CI_JOB_ID: '9' }), { 'ci.provider': 'gitlab', 'ci.pipeline_id': '7', 'ci.job_id': '9' });
  assert.deepStrictEqual(ciLabels({}), {});
});

test('label values', () => {
  assert.strictEqual(labelValue('a\nb'), 'a b');
  assert.ok(Buffer.byteLength(labelValue('é'.repeat(300))) <= 256);
});

test('a bad server address', () => {
  assert.throws(() => new Client({ server: 'http://example.com' }), /unix:\/\/\/PATH/);
});

test('no daemon', async () => {
  const c = new Client({ server: `unix://${path.join(os.tmpdir(), 'no-ditto-here.sock')}` });
  await assert.rejects(c.listCopies(), (e) => e.code === 'unavailable' && /no ditto daemon listens on/.test(e.message) && /hint:/.test(e.message));
});

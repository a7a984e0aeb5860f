'use strict';
// The suite the end-to-end test runs (needs a daemon and the pg package):
// each test writes the same row into a table of its own making, so they
// pass with a copy each; DITTO_TEST_SHARED=1 gives all of them one copy
// (scope 'suite'), and they conflict.
const { test, describe } = require('node:test');
const assert = require('node:assert');
const { Client } = require('pg');
const { useCopy } = require('../../test-helpers.js');
const ditto = require('../../index.js');

async function writeProbe(url) {
  const c = new Client({ connectionString: url });
  await c.connect();
  try {
    await c.query('create table ditto_probe (id int primary key)');
    await c.query('insert into ditto_probe values (1)');
    return (await c.query('select count(*)::int as n from customer')).rows[0].n;
  } finally {
    await c.end();
  }
}

describe('rows', () => {
  const db = useCopy({ scope: process.env.DITTO_TEST_SHARED === '1' ? 'suite' : 'test', labels: { suite: 'rows' } });

  test('first', async () => {
    assert.ok((await writeProbe(db.url)) > 0);
  });

  test('second', async () => {
    assert.ok((await writeProbe(db.url)) > 0);
  });

  test('labels', async () => {
    const mine = (await new ditto.Client().listCopies()).find((c) => c.id === db.copy.id);
    assert.strictEqual(mine.labels.suite, 'rows');
    assert.match(mine.labels.test, /labels$/);
    assert.strictEqual(mine.database_url, undefined); // a list never carries passwords
  });

  test('fails on purpose', { skip: process.env.DITTO_TEST_FAIL !== '1' }, async () => {
    assert.fail('failing on purpose');
  });
});

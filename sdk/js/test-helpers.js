'use strict';
// Helpers for node:test: a copy per test (useCopy) or per file/suite
// (useCopy({ scope: 'suite' })), held by the test process, destroyed at the
// end of its scope, kept when a test failed and keepOnFailure (or
// DITTO_KEEP_ON_FAILURE=1) asks for it.

const { before, after, beforeEach, afterEach } = require('node:test');
const { Client, ciLabels, labelValue } = require('./index.js');

function useCopy({ scope = 'test', ttl = '1h', labels = {}, settings, durable, keepOnFailure, client } = {}) {
  const c = client || new Client();
  const keep = keepOnFailure ?? process.env.DITTO_KEEP_ON_FAILURE === '1';
  const state = { copy: null, failed: false };
  const acquire = async (name) => {
    state.failed = false;
    state.copy = await c.createCopy({
      ttl, settings, durable, labels: { test: labelValue(name), ...ciLabels(), ...labels },
    });
  };
  const release = async (name) => {
    const copy = state.copy;
    state.copy = null;
    if (!copy) return;
    const kept = keep && state.failed;
    await copy.release({ keep: kept });
    if (kept) {
      process.stderr.write(`ditto: kept copy ${copy.id} of failed ${name}: \`ditto copy get ${copy.id}\` prints its URL; \`ditto copy destroy ${copy.id}\` removes it\n`);
    }
  };
  if (scope === 'test') {
    beforeEach((t) => acquire(t.fullName || t.name));
    afterEach((t) => {
      state.failed = t.passed === false;
      return release(t.fullName || t.name);
    });
  } else {
    const name = labels.test || require.main?.filename || 'suite';
    before(() => acquire(name));
    afterEach((t) => {
      if (t.passed === false) state.failed = true;
    });
    after(() => release(name));
  }
  return {
    get url() {
      if (!state.copy) throw new Error('ditto: no copy outside a test of this scope');
      return state.copy.databaseUrl;
    },
    get copy() {
      return state.copy;
    },
  };
}

module.exports = { useCopy };

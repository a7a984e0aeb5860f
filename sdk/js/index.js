'use strict';
// A client of ditto's API (docs/api.yaml) on Node's own http/https: no
// runtime dependencies. The daemon is found as the CLI finds it:
// DITTO_SERVER (unix:///PATH of its socket, or https://HOST:PORT with
// DITTO_TOKEN), else its default socket.

const http = require('node:http');
const https = require('node:https');
const fs = require('node:fs');

const DEFAULT_SOCKET = '/run/ditto/ditto.sock';
// The label values ditto keeps are at most this many bytes.
const MAX_LABEL_VALUE = 256;

// An error of the daemon, as it sent it: a stable code, a message and a
// hint saying what to do next.
class DittoError extends Error {
  constructor(code, message, hint = '') {
    super(hint ? `${message}\nhint: ${hint}` : message);
    this.name = 'DittoError';
    this.code = code;
    this.hint = hint;
    this.detail = message;
  }
}

// A copy of the golden database. databaseUrl holds its password: only its
// owner gets it. A held copy lives while its hold (and this process) does.
class Copy {
  constructor(view, client, stream) {
    this.view = view;
    this.id = view.id;
    this.databaseUrl = view.database_url || '';
    this._client = client;
    this._stream = stream;
    this._released = false;
  }

  // Ends the copy: destroys it, or with keep hands it over to its TTL (to
  // look at it after a failed test).
  async release({ keep = false } = {}) {
    if (this._released) return;
    this._released = true;
    try {
      if (keep) {
        await this._client.keepCopy(this.id);
      } else {
        await this._client.destroyCopy(this.id).catch((e) => {
          if (e.code !== 'not_found') throw e;
        });
      }
    } finally {
      if (this._stream) this._stream.destroy();
    }
  }
}

class Client {
  constructor({ server, token, caFile } = {}) {
    this.server = server || process.env.DITTO_SERVER || `unix://${DEFAULT_SOCKET}`;
    this._token = token || process.env.DITTO_TOKEN || '';
    let u;
    try {
      u = new URL(this.server);
    } catch {
      u = null;
    }
    if (u && u.protocol === 'unix:' && u.pathname && !u.host) {
      this._socket = decodeURIComponent(u.pathname);
    } else if (u && u.protocol === 'https:' && u.hostname) {
      this._https = { host: u.hostname, port: u.port || 443 };
      const ca = caFile || process.env.DITTO_CA_FILE;
      if (ca) this._https.ca = fs.readFileSync(ca);
    } else {
      throw new Error(`invalid ditto server ${JSON.stringify(this.server)}: give unix:///PATH of the daemon's socket (e.g. unix:///run/ditto/ditto.sock) or https://HOST:PORT with DITTO_TOKEN`);
    }
  }

  _unreachable(err) {
    if (this._socket && err.code === 'EACCES') {
      return new DittoError('unauthorized', `no permission to use the ditto daemon's socket ${this._socket}`,
        'only members of its group may: ask an admin to run `sudo usermod -aG ditto $USER`, then log in again');
    }
    if (this._socket && (err.code === 'ENOENT' || err.code === 'ECONNREFUSED')) {
      return new DittoError('unavailable', `no ditto daemon listens on ${this._socket}`,
        'start it (`sudo systemctl start ditto`, or `sudo ditto serve`), or set DITTO_SERVER');
    }
    return new DittoError('unavailable', `cannot reach the ditto daemon at ${this.server}: ${err.message}`,
      'check DITTO_SERVER and that the daemon runs');
  }

  // Sends a request; resolves to the response when its status is want,
  // rejects with a DittoError otherwise.
  _send(method, path, body, want) {
    const headers = {};
    const data = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
    if (data) {
      headers['Content-Type'] = 'application/json';
      headers['Content-Length'] = data.length;
    }
    let transport = http;
    let options = { method, path, headers, agent: false };
    if (this._socket) {
      options.socketPath = this._socket;
    } else {
      transport = https;
      options = { ...options, ...this._https };
      if (this._token) headers.Authorization = `Bearer ${this._token}`;
    }
    return new Promise((resolve, reject) => {
      const req = transport.request(options, (res) => {
        if (res.statusCode === want) return resolve(res);
        const chunks = [];
        res.on('data', (c) => chunks.push(c));
        res.on('end', () => {
          try {
            const e = JSON.parse(Buffer.concat(chunks).toString());
            if (!e.code) throw new Error('no code');
            reject(new DittoError(e.code, e.message, e.hint || ''));
          } catch {
            reject(new DittoError('internal', `the ditto daemon answered ${method} ${path} with ${res.statusCode}`));
          }
        });
      });
      req.on('error', (err) => reject(err instanceof DittoError ? err : this._unreachable(err)));
      req.end(data);
    });
  }

  async _call(method, path, body, want = 200) {
    const res = await this._send(method, path, body, want);
    const chunks = [];
    for await (const c of res) chunks.push(c);
    const text = Buffer.concat(chunks).toString();
    return text ? JSON.parse(text) : undefined;
  }

  static _path(id, action) {
    return `/v1/copies/${encodeURIComponent(id)}${action ? `/${action}` : ''}`;
  }

  // Creates a copy. With hold (the default) it lives until release(), or
  // until this process ends, even by kill -9; without, until destroyed or
  // its TTL ends.
  async createCopy({ ttl, labels, settings, durable, hold = true } = {}) {
    const body = {};
    if (ttl !== undefined) body.ttl = String(ttl);
    if (labels) body.labels = labels;
    if (settings) body.settings = settings;
    if (durable) body.durable = true;
    if (!hold) return new Copy(await this._call('POST', '/v1/copies', body, 201), this);
    body.hold = true;
    const res = await this._send('POST', '/v1/copies', body, 201);
    const view = await firstLine(res);
    res.resume(); // drain the heartbeats
    res.on('error', () => {});
    return new Copy(view, this, res.socket);
  }

  destroyCopy(id) {
    return this._call('DELETE', Client._path(id), undefined, 204);
  }

  keepCopy(id) {
    return this._call('POST', Client._path(id, 'keep'), undefined, 204);
  }

  getCopy(id) {
    return this._call('GET', Client._path(id));
  }

  listCopies() {
    return this._call('GET', '/v1/copies');
  }
}

// firstLine reads the first JSON line of a hold stream.
function firstLine(res) {
  return new Promise((resolve, reject) => {
    let buf = '';
    const onData = (chunk) => {
      buf += chunk;
      const nl = buf.indexOf('\n');
      if (nl < 0) return;
      res.off('data', onData);
      res.pause();
      try {
        resolve(JSON.parse(buf.slice(0, nl)));
      } catch (e) {
        reject(new DittoError('internal', `reading the copy from the ditto daemon: ${e.message}`));
      }
    };
    res.setEncoding('utf8');
    res.on('data', onData);
    res.on('error', reject);
    res.on('end', () => reject(new DittoError('internal', 'the ditto daemon ended the stream before sending the copy')));
  });
}

// labelValue cuts text to what a label value may hold: printable, at most
// 256 bytes.
function labelValue(text) {
  let s = String(text).replace(/[\p{C}]/gu, ' ');
  while (Buffer.byteLength(s) > MAX_LABEL_VALUE) s = s.slice(0, -1);
  return s;
}

// Where a CI system says which run and job this is: the variable that
// tells it runs, and the labels (after "ci.") its variables give; the same
// table as the CLI's (api/cilabels.go).
const CI = [
  ['github', 'GITHUB_RUN_ID', { repository: 'GITHUB_REPOSITORY', run_id: 'GITHUB_RUN_ID', job: 'GITHUB_JOB', workflow: 'GITHUB_WORKFLOW' }],
  ['gitlab', 'CI_JOB_ID', { project: 'CI_PROJECT_PATH', pipeline_id: 'CI_PIPELINE_ID', job_id: 'CI_JOB_ID', job: 'CI_JOB_NAME' }],
  ['buildkite', 'BUILDKITE_JOB_ID', { pipeline: 'BUILDKITE_PIPELINE_SLUG', build_number: 'BUILDKITE_BUILD_NUMBER', job_id: 'BUILDKITE_JOB_ID' }],
  ['circleci', 'CIRCLE_BUILD_NUM', { project: 'CIRCLE_PROJECT_REPONAME', build_number: 'CIRCLE_BUILD_NUM', job: 'CIRCLE_JOB' }],
  ['jenkins', 'BUILD_NUMBER', { job: 'JOB_NAME', build_number: 'BUILD_NUMBER' }],
];

// ciLabels returns the labels that say which CI run made a copy.
function ciLabels(env = process.env) {
  for (const [provider, marker, names] of CI) {
    if (!env[marker]) continue;
    const labels = { 'ci.provider': provider };
    for (const [label, variable] of Object.entries(names)) {
      const value = labelValue((env[variable] || '').trim());
      if (value) labels[`ci.${label}`] = value;
    }
    return labels;
  }
  return {};
}

let defaultClient;
function client() {
  defaultClient = defaultClient || new Client();
  return defaultClient;
}

module.exports = {
  Client,
  Copy,
  DittoError,
  ciLabels,
  labelValue,
  createCopy: (options) => client().createCopy(options),
  destroyCopy: (id) => client().destroyCopy(id),
};

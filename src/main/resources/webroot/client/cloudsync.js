// CloudSync browser client: the REST API of docs/API.md, live changes over the SockJS event-bus bridge,
// and resumable (tus) uploads. An ES module with no build step:
//
//   import { CloudSync } from '/client/cloudsync.js';
//   const cs = new CloudSync();                       // same origin; new CloudSync({ baseUrl }) otherwise
//   await cs.signIn('ann@example.com', 'a long passphrase');
//   cs.onChange(change => console.log(change.space, change.seq, change.kind, change.node));
//   await cs.subscribe(spaceId);                      // from the log's head; subscribe(spaceId, cursor) to catch up
//
// Live transport: the stock Vert.x event-bus bridge client (@vertx/eventbus-bridge-client.js) on sockjs-client,
// and uploads with tus-js-client; the server serves all three under /vendor/ and this module loads them on first
// use. Tokens: the access token lives in memory only; the refresh token too, handed to the next page of the tab
// through the storage given (sessionStorage by default) only while the page is left; never localStorage.

const VENDOR = {
  SockJS: '/vendor/sockjs-client/1.6.1/dist/sockjs.min.js',
  EventBus: '/vendor/eventbus-bridge-client.js/1.0.0/vertx-eventbus.js',
  tus: '/vendor/tus-js-client/4.3.1/dist/tus.min.js',
};
const REFRESH_KEY = 'cloudsync.refresh_token';
/** Set as the browser leaves for an OAuth provider; the page it comes back to takes the tokens only then, once. */
const OAUTH_KEY = 'cloudsync.oauth_started';
/** How long an OAuth sign-in may take to come back (the server's OAuthLogins.STATE_TTL_SECONDS). */
const OAUTH_MAX_MS = 600_000;
const SPACE_ADDRESS = 'cloudsync.sync.space.';
/** Refresh the access token this long before it expires (a quarter of its life when that is shorter). */
const REFRESH_AHEAD_MS = 60_000;
/** The change log's largest page (ChangeLog.MAX_PAGE). */
const LOG_PAGE = 1000;
const RECONNECT_MIN_MS = 250;
const RECONNECT_MAX_MS = 10_000;
/**
 * How long the server keeps an unfinished upload after its last byte: uploads.expire_hours at its default of 24
 * (clients are not told the configured value). A stored upload knows only when it started, so pendingUploads
 * leaves out those started longer ago than this.
 */
const UPLOAD_EXPIRY_MS = 24 * 3600_000;
/** How long after registering a space its log is read once more (see Live.register). */
const REGISTER_SETTLE_MS = 1000;

/** An error answer of the API: {status, code, message} and, for conflicts, the node as it is now. */
export class CloudSyncError extends Error {
  constructor(status, code, message, body) {
    super(message || code || ('HTTP ' + status));
    this.name = 'CloudSyncError';
    this.status = status;
    this.code = code || 'http_' + status;
    this.body = body || {};
    this.current = this.body.current;
  }
}

const loading = new Map();

/** Loads one of the vendor bundles (classic scripts that set a global) once; CSP allows same-origin scripts. */
function vendor(name, baseUrl) {
  if (window[name]) {
    return Promise.resolve(window[name]);
  }
  if (!loading.has(name)) {
    loading.set(name, new Promise((resolve, reject) => {
      const script = document.createElement('script');
      script.src = baseUrl + VENDOR[name];
      script.async = false;
      script.onload = () => window[name] ? resolve(window[name]) : reject(new Error(name + ' did not load'));
      script.onerror = () => {
        loading.delete(name);
        reject(new Error('Could not load ' + VENDOR[name]));
      };
      document.head.appendChild(script);
    }));
  }
  return loading.get(name);
}

function segment(value) {
  return encodeURIComponent(value);
}

function query(params) {
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) {
    if (value !== undefined && value !== null && value !== '') {
      search.set(key, String(value));
    }
  }
  const text = search.toString();
  return text ? '?' + text : '';
}

export class CloudSync {
  /**
   * @param {object} [options]
   * @param {string} [options.baseUrl] the server, '' for this page's origin
   * @param {Storage|null} [options.storage] where the refresh token waits across a reload (sessionStorage; null:
   *     memory only, a reload signs out)
   */
  constructor(options = {}) {
    this.baseUrl = (options.baseUrl || '').replace(/\/$/, '');
    this.storage = options.storage === undefined ? window.sessionStorage : options.storage;
    this.access = null;
    this.accessExpires = 0;
    this.refreshAhead = REFRESH_AHEAD_MS;
    this.refreshToken = this.storage ? this.storage.getItem(REFRESH_KEY) : null;
    this.refreshing = null;
    if (this.storage) {
      // The refresh token stays out of storage while the page lives and is put there only as the page is left,
      // for the next one (a reload) to take: a duplicated tab copies sessionStorage, and two pages refreshing one
      // token would look like a stolen token to the server, which then ends the sign-in.
      this.storage.removeItem(REFRESH_KEY);
      window.addEventListener('pagehide', () => {
        if (this.refreshToken) {
          this.storage.setItem(REFRESH_KEY, this.refreshToken);
        }
      });
      window.addEventListener('pageshow', event => {
        if (event.persisted) {
          this.storage.removeItem(REFRESH_KEY);
        }
      });
    }
    this.listeners = { change: new Set(), revoked: new Set(), status: new Set(), signedOut: new Set() };
    this.live = new Live(this);
  }

  // ---- sessions -------------------------------------------------------------------------------------------

  /** True when a sign-in can be resumed (a refresh token is held). */
  get signedIn() {
    return Boolean(this.access || this.refreshToken);
  }

  async signUp(email, password, displayName) {
    const body = { email, password };
    if (displayName) {
      body.display_name = displayName;
    }
    return this.call('POST', '/api/v1/auth/signup', body, { anonymous: true });
  }

  /** Signs in; throws a CloudSyncError with code mfa_required when a TOTP code is needed. */
  async signIn(email, password, totp) {
    const body = { email, password };
    if (totp) {
      body.totp = totp;
    }
    this.adopt(await this.call('POST', '/api/v1/auth/token', body, { anonymous: true }));
  }

  /** The providers configured for OAuth sign-in, and where a browser starts one. */
  async providers() {
    const answer = await this.call('GET', '/api/v1/auth/providers', null, { anonymous: true });
    return answer.providers.map(name => ({ name, url: this.baseUrl + '/api/v1/auth/oauth/' + segment(name) + '/start' }));
  }

  /**
   * Call as the browser leaves for a provider's sign-in (a click on one of the providers' links): the page the
   * sign-in comes back to takes its tokens (adoptFragment) only after this. The mark waits in sessionStorage (it
   * is no token), for one landing within 10 minutes.
   */
  expectOAuth() {
    this.oauthStorage().setItem(OAUTH_KEY, String(Date.now()));
  }

  /**
   * Takes the tokens an OAuth sign-in put into the URL fragment (#access_token=…&refresh_token=…), and removes
   * them from the address bar. Answers whether it took any. Tokens in a fragment this tab did not ask for (no
   * expectOAuth() before) are removed and not taken: a link carrying someone else's tokens must not sign this
   * browser in to their account.
   */
  adoptFragment(location = window.location) {
    const params = new URLSearchParams(location.hash.replace(/^#/, ''));
    if (!params.get('access_token') || !params.get('refresh_token')) {
      return false;
    }
    const started = Number(this.oauthStorage().getItem(OAUTH_KEY));
    this.oauthStorage().removeItem(OAUTH_KEY);
    window.history.replaceState(null, '', location.pathname + location.search);
    if (!started || Date.now() - started > OAUTH_MAX_MS) {
      return false;
    }
    this.adopt({
      access_token: params.get('access_token'),
      refresh_token: params.get('refresh_token'),
      expires_in: Number(params.get('expires_in') || 60),
    });
    return true;
  }

  oauthStorage() {
    return this.storage || window.sessionStorage;
  }

  async signOut() {
    this.live.stop();
    try {
      if (this.signedIn) {
        await this.call('POST', '/api/v1/auth/logout');
      }
    } finally {
      this.forget();
    }
  }

  adopt(pair) {
    this.access = pair.access_token;
    this.accessExpires = Date.now() + pair.expires_in * 1000;
    this.refreshAhead = Math.min(REFRESH_AHEAD_MS, pair.expires_in * 250);
    this.refreshToken = pair.refresh_token;
  }

  forget() {
    const was = this.signedIn;
    this.access = null;
    this.accessExpires = 0;
    this.refreshToken = null;
    if (this.storage) {
      this.storage.removeItem(REFRESH_KEY);
    }
    this.live.stop();
    if (was) {
      this.emit('signedOut', {});
    }
  }

  /** A valid access token, refreshed when it is about to expire; one refresh at a time. */
  async accessToken() {
    if (this.access && Date.now() < this.accessExpires - this.refreshAhead) {
      return this.access;
    }
    if (!this.refreshToken) {
      if (this.access && Date.now() < this.accessExpires) {
        return this.access;
      }
      throw new CloudSyncError(401, 'unauthorized', 'Not signed in');
    }
    return this.refresh();
  }

  refresh() {
    if (!this.refreshing) {
      const token = this.refreshToken;
      this.refreshing = this.call('POST', '/api/v1/auth/refresh', { refresh_token: token }, { anonymous: true })
        .then(pair => {
          this.adopt(pair);
          return pair.access_token;
        }, error => {
          if (error.status === 401 || error.status === 403) {
            this.forget();
          }
          throw error;
        })
        .finally(() => {
          this.refreshing = null;
        });
    }
    return this.refreshing;
  }

  // ---- HTTP -----------------------------------------------------------------------------------------------

  /**
   * One API call: JSON in and out, the bearer token added (and refreshed once on a 401), errors thrown as
   * CloudSyncError. options: {anonymous, headers, raw (answer the Response), body (not JSON)}.
   */
  async call(method, path, json, options = {}) {
    for (let attempt = 0; ; attempt++) {
      const headers = Object.assign({}, options.headers);
      let token = null;
      if (!options.anonymous) {
        token = await this.accessToken();
        headers.Authorization = 'Bearer ' + token;
      }
      let body = options.body;
      if (json !== null && json !== undefined) {
        headers['Content-Type'] = 'application/json';
        body = JSON.stringify(json);
      }
      const response = await fetch(this.baseUrl + path, { method, headers, body, credentials: 'same-origin' });
      if (response.status === 401 && !options.anonymous && attempt === 0 && this.refreshToken) {
        // Forget the token this request sent, unless another request's refresh has replaced it meanwhile.
        if (this.access === token) {
          this.access = null;
        }
        continue;
      }
      if (!response.ok) {
        let error = {};
        try {
          error = await response.json();
        } catch (ignored) {
          // not JSON: a proxy's page; the status says enough
        }
        throw new CloudSyncError(response.status, error.code, error.message, error);
      }
      if (options.raw) {
        return response;
      }
      if (response.status === 204) {
        return null;
      }
      const text = await response.text();
      return text ? JSON.parse(text) : null;
    }
  }

  me() {
    return this.call('GET', '/api/v1/me');
  }

  async setupMfa() {
    return this.call('POST', '/api/v1/auth/mfa/setup');
  }

  async verifyMfa(code) {
    return this.call('POST', '/api/v1/auth/mfa/verify', { code });
  }

  // ---- spaces and members ---------------------------------------------------------------------------------

  async spaces() {
    const all = [];
    for (let offset = 0; ; ) {
      const page = await this.call('GET', '/api/v1/spaces' + query({ limit: 200, offset }));
      all.push(...page.spaces);
      if (!page.has_more || page.spaces.length === 0) {
        return all;
      }
      offset += page.spaces.length;
    }
  }

  createSpace(name, conflictPolicy) {
    const body = { name };
    if (conflictPolicy) {
      body.conflict_policy = conflictPolicy;
    }
    return this.call('POST', '/api/v1/spaces', body);
  }

  space(space) {
    return this.call('GET', '/api/v1/spaces/' + segment(space));
  }

  renameSpace(space, name) {
    return this.call('PATCH', '/api/v1/spaces/' + segment(space), { name });
  }

  deleteSpace(space) {
    return this.call('DELETE', '/api/v1/spaces/' + segment(space));
  }

  async members(space) {
    return (await this.call('GET', '/api/v1/spaces/' + segment(space) + '/members')).members;
  }

  /** Shares a space with the account that has this email. */
  share(space, email, role) {
    return this.call('POST', '/api/v1/spaces/' + segment(space) + '/members', { email, role });
  }

  setRole(space, user, role) {
    return this.call('PUT', '/api/v1/spaces/' + segment(space) + '/members/' + segment(user), { role });
  }

  unshare(space, user) {
    return this.call('DELETE', '/api/v1/spaces/' + segment(space) + '/members/' + segment(user));
  }

  // ---- nodes ----------------------------------------------------------------------------------------------

  /** Every live entry of a folder (the top level when parent is empty), page by page. */
  async list(space, parent) {
    const all = [];
    let cursor = null;
    do {
      const page = await this.call('GET', '/api/v1/spaces/' + segment(space) + '/nodes'
          + query({ parent, cursor, limit: 1000 }));
      all.push(...page.nodes);
      cursor = page.has_more ? page.cursor : null;
    } while (cursor);
    return all;
  }

  node(space, node) {
    return this.call('GET', '/api/v1/spaces/' + segment(space) + '/nodes/' + segment(node));
  }

  /** The folders from the top level down to this node, the node included. */
  async ancestry(space, node) {
    const chain = [];
    for (let id = node; id && chain.length < 256; ) {
      const current = await this.node(space, id);
      chain.unshift(current);
      id = current.parent_id;
    }
    return chain;
  }

  createFolder(space, parent, name) {
    const body = { name, type: 'folder' };
    if (parent) {
      body.parent_id = parent;
    }
    return this.call('POST', '/api/v1/spaces/' + segment(space) + '/nodes', body);
  }

  rename(space, node, name, version) {
    return this.call('PATCH', '/api/v1/spaces/' + segment(space) + '/nodes/' + segment(node), { name },
        { headers: ifMatch(version) });
  }

  /** Moves a node into another folder (null: the top level). */
  move(space, node, parent, version) {
    return this.call('PATCH', '/api/v1/spaces/' + segment(space) + '/nodes/' + segment(node), { parent_id: parent },
        { headers: ifMatch(version) });
  }

  remove(space, node, version) {
    return this.call('DELETE', '/api/v1/spaces/' + segment(space) + '/nodes/' + segment(node), null,
        { headers: ifMatch(version) });
  }

  purge(space, node, version) {
    return this.call('DELETE', '/api/v1/spaces/' + segment(space) + '/nodes/' + segment(node) + '?purge=true', null,
        { headers: ifMatch(version) });
  }

  restore(space, node) {
    return this.call('POST', '/api/v1/spaces/' + segment(space) + '/nodes/' + segment(node) + '/restore');
  }

  async trash(space) {
    return (await this.call('GET', '/api/v1/spaces/' + segment(space) + '/trash')).nodes;
  }

  async versions(space, node) {
    return (await this.call('GET', '/api/v1/spaces/' + segment(space) + '/nodes/' + segment(node) + '/versions'))
        .versions;
  }

  restoreVersion(space, node, version) {
    return this.call('POST', '/api/v1/spaces/' + segment(space) + '/nodes/' + segment(node) + '/versions/'
        + segment(version) + '/restore');
  }

  async search(q, space) {
    return (await this.call('GET', '/api/v1/search' + query({ q, space }))).nodes;
  }

  /** A file's content (a version's, when given) as a Blob. */
  async download(space, node, version) {
    const response = await this.call('GET', '/api/v1/spaces/' + segment(space) + '/nodes/' + segment(node)
        + '/content' + query({ version }), null, { raw: true });
    return response.blob();
  }

  /** Writes a whole file at a path in one request (folders made as needed); If-Match when version is given. */
  put(space, path, content, version) {
    const encoded = path.split('/').filter(Boolean).map(segment).join('/');
    return this.call('PUT', '/api/v1/spaces/' + segment(space) + '/files/' + encoded, null,
        { body: content, headers: ifMatch(version) });
  }

  changes(space, cursor, limit) {
    return this.call('GET', '/api/v1/spaces/' + segment(space) + '/changes' + query({ cursor, limit }));
  }

  // ---- webhooks and installation --------------------------------------------------------------------------

  async webhooks(space) {
    return (await this.call('GET', '/api/v1/spaces/' + segment(space) + '/webhooks')).webhooks;
  }

  /** Registers an endpoint; the answer carries its secret, shown only this once. */
  createWebhook(space, url, events) {
    return this.call('POST', '/api/v1/spaces/' + segment(space) + '/webhooks', { url, events: events || [] });
  }

  deleteWebhook(space, id) {
    return this.call('DELETE', '/api/v1/spaces/' + segment(space) + '/webhooks/' + segment(id));
  }

  info() {
    return this.call('GET', '/api/v1/info', null, { anonymous: true });
  }

  // ---- uploads --------------------------------------------------------------------------------------------

  /**
   * A resumable tus upload of a File into a folder. Answers {promise, abort, upload}: the promise resolves
   * with the node id once the last byte is stored. options: {parentId, ifMatch, onProgress(sent, total),
   * chunkSize}. An upload interrupted by a reload or a lost connection resumes where it stopped when the same
   * file is uploaded into the same space again (tus-js-client keeps the upload's URL, never a token).
   */
  async upload(space, file, options = {}) {
    const tus = await vendor('tus', this.baseUrl);
    const metadata = { space, filename: file.name };
    if (options.parentId) {
      metadata.parent_id = options.parentId;
    }
    if (options.ifMatch !== undefined && options.ifMatch !== null) {
      metadata.if_match = String(options.ifMatch);
    }
    let upload;
    const promise = new Promise((resolve, reject) => {
      upload = new tus.Upload(file, {
        endpoint: this.baseUrl + '/api/v1/uploads',
        metadata,
        chunkSize: options.chunkSize || Infinity,
        retryDelays: [0, 1000, 3000, 5000, 10000, 20000],
        storeFingerprintForResuming: true,
        removeFingerprintOnSuccess: true,
        // Space, folder and base version are part of the fingerprint: the same file into another folder, or
        // over another version, is another upload.
        fingerprint: async f => ['cloudsync', space, options.parentId || '', f.name, f.type, f.size,
          f.lastModified, metadata.if_match || '', this.baseUrl].join('|'),
        onBeforeRequest: async request => {
          request.setHeader('Authorization', 'Bearer ' + await this.accessToken());
        },
        onProgress: (sent, total) => options.onProgress && options.onProgress(sent, total),
        onShouldRetry: (error, attempts) => {
          const status = error.originalResponse ? error.originalResponse.getStatus() : 0;
          // Network errors, server trouble and the rate limit pass; anything else is an answer to heed.
          return status === 0 || status >= 500 || status === 423 || status === 429;
        },
        onError: error => {
          const failure = tusError(error);
          if (failure.status >= 400 && failure.status < 500) {
            // Refused for good (a conflict, no access, too large): forget it rather than resume it later.
            upload.abort(true).catch(() => {});
          }
          reject(failure);
        },
        onSuccess: payload => {
          const node = payload && payload.lastResponse ? payload.lastResponse.getHeader('CloudSync-Node') : null;
          resolve(node);
        },
      });
      upload.findPreviousUploads().then(previous => {
        if (previous.length) {
          upload.resumeFromPreviousUpload(previous[0]);
        }
        upload.start();
      }, reject);
    });
    return { promise, upload, abort: () => upload.abort(true) };
  }

  /**
   * Uploads that stopped before their end (a reload, a closed tab, a lost connection) and can resume: upload
   * the same file into the same folder again. Answers [{space, parentId, name, size, startedAt}], leaving out
   * those started more than 24 hours ago (UPLOAD_EXPIRY_MS); picking such a file again still resumes it if the
   * server kept it, and starts afresh if not.
   */
  async pendingUploads(space) {
    const tus = await vendor('tus', this.baseUrl);
    const stored = await tus.defaultOptions.urlStorage.findAllUploads();
    const pending = [];
    for (const entry of stored) {
      const fields = String(entry.urlStorageKey || '').replace(/^tus::/, '').split('::')[0].split('|');
      const expired = Date.now() - Date.parse(entry.creationTime) > UPLOAD_EXPIRY_MS;
      if (fields[0] === 'cloudsync' && (!space || fields[1] === space) && !expired) {
        pending.push({ space: fields[1], parentId: fields[2] || null, name: fields[3], size: Number(fields[5]),
          startedAt: entry.creationTime });
      }
    }
    return pending;
  }

  // ---- live -----------------------------------------------------------------------------------------------

  /**
   * Follows a space live from a cursor: every change after it, in seq order, without gaps or repeats, through
   * reconnects and token refreshes. Without a cursor it starts at the log's head (only changes from now on).
   * Answers the cursor it started from.
   */
  subscribe(space, cursor) {
    return this.live.subscribe(space, cursor);
  }

  unsubscribe(space) {
    this.live.unsubscribe(space);
  }

  /** The last seq handed to onChange for a space. */
  cursor(space) {
    return this.live.cursor(space);
  }

  /** fn(change): a change of a subscribed space (fields as GET …/changes, plus space). Answers an unsubscribe. */
  onChange(fn) {
    return this.on('change', fn);
  }

  /** fn({space, reason}): the caller lost a space (unshared or the space was deleted); its subscription ended. */
  onRevoked(fn) {
    return this.on('revoked', fn);
  }

  /** fn({connected}): the live connection opened or dropped. */
  onStatus(fn) {
    return this.on('status', fn);
  }

  /** fn(): the sign-in ended (signed out, or the refresh token no longer works). */
  onSignedOut(fn) {
    return this.on('signedOut', fn);
  }

  on(kind, fn) {
    this.listeners[kind].add(fn);
    return () => this.listeners[kind].delete(fn);
  }

  emit(kind, value) {
    for (const fn of [...this.listeners[kind]]) {
      try {
        fn(value);
      } catch (error) {
        console.error(error);
      }
    }
  }
}

function ifMatch(version) {
  return version === undefined || version === null ? {} : { 'If-Match': '"' + version + '"' };
}

function tusError(error) {
  const response = error && error.originalResponse;
  if (response) {
    let body = {};
    try {
      body = JSON.parse(response.getBody() || '{}');
    } catch (ignored) {
      // not JSON
    }
    return new CloudSyncError(response.getStatus(), body.code, body.message || error.message, body);
  }
  return new CloudSyncError(0, 'network_error', String(error && error.message || error));
}

/**
 * The live side: one SockJS event-bus connection, one registration per space. Deliveries are hints; the change
 * log is the truth: a space's changes are handed out strictly in seq order, and any gap (a reconnect, a missed
 * delivery) is filled from GET …/changes before later ones go out.
 */
class Live {
  constructor(client) {
    this.client = client;
    this.spaces = new Map();
    /** Spaces whose subscribe is reading the head; unsubscribe takes them out. */
    this.pending = new Map();
    this.bus = null;
    this.open = false;
    this.stopped = true;
    this.retryMs = RECONNECT_MIN_MS;
    this.retryTimer = null;
  }

  cursor(space) {
    const state = this.spaces.get(space);
    return state ? state.cursor : null;
  }

  async subscribe(space, cursor) {
    let state = this.spaces.get(space);
    if (!state) {
      // The cursor first, the subscription after: a state with a made-up cursor would let a connection opening
      // meanwhile (or a second subscribe) read the log from 0, and would stay at 0 if the head could not be read.
      const pending = this.pending.get(space) || {};
      this.pending.set(space, pending);
      const start = cursor === undefined || cursor === null ? await this.head(space) : cursor;
      state = this.spaces.get(space);
      if (!state) {
        if (this.pending.get(space) !== pending) {
          return start;   // unsubscribed while the head was read
        }
        state = { space, cursor: start, reading: null, again: false };
        this.spaces.set(space, state);
      }
      if (this.pending.get(space) === pending) {
        this.pending.delete(space);
      }
    }
    this.stopped = false;
    if (this.open) {
      this.register(state);
    } else {
      this.connect();
    }
    await this.catchUp(state);
    return state.cursor;
  }

  unsubscribe(space) {
    this.pending.delete(space);
    const state = this.spaces.get(space);
    if (!state) {
      return;
    }
    this.spaces.delete(space);
    if (this.bus && this.open && state.handler) {
      try {
        this.bus.unregisterHandler(SPACE_ADDRESS + space, state.headers, state.handler);
      } catch (ignored) {
        // the socket is closing
      }
    }
    if (this.spaces.size === 0) {
      this.stop();
    }
  }

  stop() {
    this.stopped = true;
    clearTimeout(this.retryTimer);
    if (this.bus) {
      const bus = this.bus;
      this.bus = null;
      bus.onclose = null;
      try {
        bus.close();
      } catch (ignored) {
        // already closed
      }
    }
    if (this.open) {
      this.open = false;
      this.client.emit('status', { connected: false });
    }
  }

  /** The newest seq of a space: its {@code head}. */
  async head(space) {
    return (await this.client.space(space)).head;
  }


  async connect() {
    if (this.bus || this.stopped) {
      return;
    }
    try {
      await vendor('SockJS', this.client.baseUrl);
      const EventBus = await vendor('EventBus', this.client.baseUrl);
      await this.client.accessToken();
      if (this.bus || this.stopped) {
        return;
      }
      const bus = new EventBus(this.client.baseUrl + '/eventbus', { transports: ['websocket', 'xhr-streaming', 'xhr-polling'] });
      this.bus = bus;
      bus.onopen = () => {
        this.open = true;
        this.openedAt = Date.now();
        this.client.emit('status', { connected: true });
        for (const state of this.spaces.values()) {
          this.register(state);
          // Whatever happened while disconnected is in the log.
          this.catchUp(state);
        }
      };
      bus.onclose = () => {
        const wasOpen = this.open;
        if (wasOpen && Date.now() - this.openedAt > 10_000) {
          // A connection that lived a while dropped: come back quickly. One that keeps failing backs off.
          this.retryMs = RECONNECT_MIN_MS;
        }
        this.open = false;
        this.bus = null;
        if (wasOpen) {
          this.client.emit('status', { connected: false });
        }
        this.retry();
      };
      bus.onerror = error => this.failed(null, error);
    } catch (error) {
      this.bus = null;
      if (error instanceof CloudSyncError && error.status === 401) {
        this.stop();
        return;
      }
      this.retry();
    }
  }

  retry() {
    if (this.stopped || this.spaces.size === 0) {
      return;
    }
    clearTimeout(this.retryTimer);
    const delay = this.retryMs;
    this.retryMs = Math.min(this.retryMs * 2, RECONNECT_MAX_MS);
    this.retryTimer = setTimeout(() => this.connect(), delay);
  }

  async register(state) {
    const bus = this.bus;
    let token;
    try {
      token = await this.client.accessToken();
    } catch (error) {
      return;
    }
    if (bus !== this.bus || !this.open || this.spaces.get(state.space) !== state) {
      return;
    }
    state.headers = { authorization: 'Bearer ' + token };
    state.handler = (error, message) => {
      if (error) {
        this.failed(state, error);
      } else {
        this.delivered(state, message.body);
      }
    };
    this.bus.registerHandler(SPACE_ADDRESS + state.space, state.headers, state.handler);
    // The bridge does not confirm a registration: a change committed after the catch-up read but before the
    // registration took effect would be neither read nor pushed. One more read a moment later closes that gap.
    setTimeout(() => {
      if (this.spaces.get(state.space) === state) {
        this.catchUp(state);
      }
    }, REGISTER_SETTLE_MS);
  }

  failed(state, error) {
    const type = error && (error.failureType || error.body);
    if (state && type === 'access_revoked') {
      this.revoke(state.space, 'access_revoked');
    } else if (type === 'token_expired') {
      // The server closes the socket; the reconnect registers with a fresh token.
      this.client.access = null;
    } else if (type === 'rejected') {
      // A register was refused: a stale token, or a space the caller lost. The log tells which (404 revokes
      // the space); the others register again on a new connection with a fresh token.
      this.client.access = null;
      // The connection that refused; by the time the catch-ups end a newer one may be up, and it stays.
      const bus = this.bus;
      Promise.all([...this.spaces.values()].map(s => this.catchUp(s))).then(() => {
        if (bus && bus === this.bus) {
          bus.close();
        }
      });
    } else if (type === 'token_revoked' || type === 'account_disabled') {
      this.client.forget();
    }
  }

  revoke(space, reason) {
    if (this.spaces.has(space)) {
      this.spaces.delete(space);
      this.client.emit('revoked', { space, reason });
    }
  }

  delivered(state, body) {
    if (!body) {
      return;
    }
    if (body.notice === 'space_deleted') {
      this.revoke(state.space, 'space_deleted');
      return;
    }
    if (typeof body.seq !== 'number' || body.seq <= state.cursor) {
      return;
    }
    this.retryMs = RECONNECT_MIN_MS;
    if (body.seq === state.cursor + 1) {
      this.hand(state, body);
    } else {
      this.catchUp(state);
    }
  }

  hand(state, change) {
    state.cursor = change.seq;
    this.client.emit('change', Object.assign({ space: state.space }, change));
  }

  /** Reads the log after the space's cursor until its end; one reader per space, re-run if asked meanwhile. */
  catchUp(state) {
    if (state.reading) {
      state.again = true;
      return state.reading;
    }
    state.reading = (async () => {
      try {
        do {
          state.again = false;
          while (this.spaces.get(state.space) === state) {
            const page = await this.client.changes(state.space, state.cursor, LOG_PAGE);
            for (const change of page.changes) {
              if (change.seq === state.cursor + 1 && this.spaces.get(state.space) === state) {
                this.hand(state, change);
              }
            }
            if (!page.has_more) {
              break;
            }
          }
        } while (state.again);
      } catch (error) {
        if (error instanceof CloudSyncError && (error.status === 404 || error.status === 403)) {
          this.revoke(state.space, 'not_found');
        }
      } finally {
        state.reading = null;
      }
    })();
    return state.reading;
  }
}

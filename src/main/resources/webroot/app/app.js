// The CloudSync web app: sign-in, spaces, a live folder browser, uploads, sharing, trash and versions.
// Every name a user typed reaches the page through textContent or a form value, never as HTML.
import { CloudSync, CloudSyncError } from '/client/cloudsync.js';

const cs = new CloudSync();
const $ = id => document.getElementById(id);

/** Upload rows kept across re-renders, by a key of the file; each is {row, bar, status}. */
const uploads = new Map();
const SPACES_POLL_MS = 5000;
/** Files one pick or drop uploads, and how many of them at once: each upload is a few API requests, and the
 * API admits ratelimit.api_per_minute (100 by default) per user. */
const MAX_FILES_PER_DROP = 50;
const PARALLEL_UPLOADS = 3;
/** Folders listed to offer as move targets (one request each). */
const MOVE_LISTINGS_MAX = 25;
const MOVE_TARGETS_MAX = 300;

const view = {
  me: null,
  space: null,        // the open space's JSON
  folder: null,       // the open folder's id, null for the top level
  trail: [],          // folders from the top level to the open one
  nodes: new Map(),   // the open folder's entries by id
  spacesTimer: null,
  spacesDrawn: null,  // what the spaces list shows, to skip redrawing it unchanged
};

// ---- small DOM helpers ------------------------------------------------------------------------------------

function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (key === 'text') {
      node.textContent = value;
    } else if (key === 'class') {
      node.className = value;
    } else if (key === 'on') {
      for (const [event, fn] of Object.entries(value)) {
        node.addEventListener(event, fn);
      }
    } else if (key === 'data') {
      Object.assign(node.dataset, value);
    } else if (value !== undefined && value !== null && value !== false) {
      node.setAttribute(key, value === true ? '' : value);
    }
  }
  for (const child of children) {
    if (child !== null && child !== undefined) {
      node.append(child);
    }
  }
  return node;
}

function button(text, onClick, props = {}) {
  return el('button', Object.assign({ type: 'button', text, on: { click: onClick } }, props));
}

function show(screen) {
  for (const section of document.querySelectorAll('.screen')) {
    section.hidden = section.id !== 'screen-' + screen;
  }
  document.body.dataset.screen = screen;
}

let noticeTimer = null;
function notice(message, kind = 'error') {
  const box = $('notice');
  box.textContent = message;
  box.className = 'notice' + (kind === 'info' ? ' info' : '');
  box.hidden = false;
  clearTimeout(noticeTimer);
  noticeTimer = setTimeout(() => { box.hidden = true; }, 8000);
}

function explain(error) {
  return String(error && error.message || error);
}

/** Runs an action from a control, showing its error instead of throwing. */
function guarded(fn) {
  return async event => {
    if (event && event.preventDefault) {
      event.preventDefault();
    }
    try {
      await fn(event);
    } catch (error) {
      notice(explain(error));
    }
  };
}

function size(bytes) {
  if (bytes === null || bytes === undefined) {
    return '';
  }
  const units = ['B', 'KB', 'MB', 'GB', 'TB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return (unit === 0 ? value : value.toFixed(1)) + ' ' + units[unit];
}

function when(iso) {
  return iso ? new Date(iso).toLocaleString() : '';
}

function closeDialogs() {
  for (const dialog of document.querySelectorAll('dialog[open]')) {
    dialog.close();
  }
}

/** Opens a dialog and resolves with the value of the button that closed it ('' when dismissed). */
function ask(dialog) {
  return new Promise(resolve => {
    dialog.returnValue = '';
    dialog.addEventListener('close', () => resolve(dialog.returnValue), { once: true });
    dialog.showModal();
  });
}

// ---- routing ----------------------------------------------------------------------------------------------

function parseHash() {
  const parts = window.location.hash.replace(/^#\/?/, '').split('/').filter(Boolean).map(decodeURIComponent);
  if (parts[0] === 'space' && parts[1]) {
    return { space: parts[1], folder: parts[2] || null };
  }
  return {};
}

function go(space, folder) {
  const hash = space ? '#/space/' + encodeURIComponent(space) + (folder ? '/' + encodeURIComponent(folder) : '') : '#/';
  if (window.location.hash !== hash) {
    window.location.hash = hash;
  } else {
    route();
  }
}

async function route() {
  if (!cs.signedIn) {
    leaveSpace();
    showAuth();
    return;
  }
  if (!view.me) {
    view.me = await cs.me();
    $('whoami').textContent = view.me.display_name || view.me.email;
    $('whoami').hidden = false;
    $('sign-out').hidden = false;
  }
  const target = parseHash();
  if (target.space) {
    await openSpace(target.space, target.folder);
  } else {
    leaveSpace();
    await showSpaces();
  }
}

// ---- sign-in ----------------------------------------------------------------------------------------------

function selectTab(which) {
  const signin = which === 'signin';
  $('tab-signin').setAttribute('aria-selected', String(signin));
  $('tab-signup').setAttribute('aria-selected', String(!signin));
  $('form-signin').hidden = !signin;
  $('form-signup').hidden = signin;
}

async function showAuth() {
  show('auth');
  $('whoami').hidden = true;
  $('sign-out').hidden = true;
  $('live-status').hidden = true;
  const box = $('oauth-buttons');
  try {
    const providers = await cs.providers();
    const labels = { google: 'Google', github: 'GitHub', oidc: 'single sign-on' };
    box.replaceChildren(...providers.map(p => el('a', { class: 'button', href: p.url,
      text: 'Sign in with ' + (labels[p.name] || p.name), on: { click: () => cs.expectOAuth() } })));
  } catch (error) {
    box.replaceChildren();
  }
}

async function signIn(event) {
  const form = event.target;
  const email = $('signin-email').value.trim();
  const password = $('signin-password').value;
  const totp = $('signin-totp').value.trim();
  try {
    await cs.signIn(email, password, totp || undefined);
  } catch (error) {
    if (error.code === 'mfa_required' || (error.code === 'invalid_mfa_code' && !$('totp-row').hidden)) {
      $('totp-row').hidden = false;
      $('signin-totp').focus();
      notice(error.code === 'mfa_required' ? 'Enter the code from your authenticator app.' : error.message, 'info');
      return;
    }
    throw error;
  }
  form.reset();
  $('totp-row').hidden = true;
  view.me = null;
  await route();
}

async function signUp() {
  const name = $('signup-name').value.trim();
  const email = $('signup-email').value.trim();
  const password = $('signup-password').value;
  await cs.signUp(email, password, name);
  await cs.signIn(email, password);
  $('form-signup').reset();
  view.me = null;
  await route();
}

async function signOut() {
  leaveSpace();
  view.me = null;
  await cs.signOut();
  go(null);
}

// ---- spaces -----------------------------------------------------------------------------------------------

async function showSpaces() {
  show('spaces');
  await renderSpaces();
  clearInterval(view.spacesTimer);
  // Spaces shared with me appear without a reload; a tab nobody looks at does not ask.
  view.spacesTimer = setInterval(() => document.hidden || renderSpaces().catch(() => {}), SPACES_POLL_MS);
}

/** Draws the spaces list; an unchanged list is left alone, so the poll does not take keyboard focus away. */
async function renderSpaces() {
  const spaces = await cs.spaces();
  if (document.body.dataset.screen !== 'spaces') {
    return;
  }
  spaces.sort((a, b) => a.name.localeCompare(b.name));
  const drawn = JSON.stringify(spaces.map(s => [s.id, s.name, s.role, s.conflict_policy]));
  if (drawn === view.spacesDrawn) {
    return;
  }
  view.spacesDrawn = drawn;
  $('spaces-list').replaceChildren(...spaces.map(space => el('li', { data: { space: space.id } },
      el('a', { class: 'grow', href: '#/space/' + encodeURIComponent(space.id), text: space.name }),
      el('span', { class: 'role', text: space.role + (space.conflict_policy === 'manual' ? ' · asks on conflicts' : '') }))));
  $('spaces-empty').hidden = spaces.length > 0;
}

async function createSpace() {
  const space = await cs.createSpace($('space-name').value.trim(), $('space-policy').value);
  $('form-space').reset();
  go(space.id);
}

// ---- the folder browser -----------------------------------------------------------------------------------

function leaveSpace() {
  clearInterval(view.spacesTimer);
  if (view.space) {
    cs.unsubscribe(view.space.id);
  }
  view.space = null;
  view.folder = null;
  view.nodes.clear();
}

async function openSpace(spaceId, folder) {
  clearInterval(view.spacesTimer);
  if (!view.space || view.space.id !== spaceId) {
    leaveSpace();
    view.space = await cs.space(spaceId);
    // Subscribe first, from the head just read: whatever changes after it reaches the listing through onChange.
    await cs.subscribe(spaceId, view.space.head);
  }
  view.folder = folder;
  view.trail = folder ? (await cs.ancestry(spaceId, folder)) : [];
  const nodes = await cs.list(spaceId, folder);
  view.nodes = new Map(nodes.map(n => [n.id, n]));
  show('space');
  $('search-results').hidden = true;
  renderCrumbs();
  renderFiles();
  renderResumeHint();
}

function renderCrumbs() {
  const items = [el('li', {}, el('a', { href: '#/', text: 'Spaces' })),
    el('li', {}, el('a', { href: '#/space/' + encodeURIComponent(view.space.id), text: view.space.name,
      'aria-current': view.trail.length === 0 ? 'page' : null }))];
  view.trail.forEach((folder, i) => items.push(el('li', {}, el('a', {
    href: '#/space/' + encodeURIComponent(view.space.id) + '/' + encodeURIComponent(folder.id), text: folder.name,
    'aria-current': i === view.trail.length - 1 ? 'page' : null }))));
  $('breadcrumbs').replaceChildren(...items);
  $('space-title').textContent = view.trail.length ? view.trail[view.trail.length - 1].name : view.space.name;
  const canWrite = view.space.role !== 'viewer';
  $('form-folder').hidden = !canWrite;
  document.querySelector('label[for="upload-input"]').hidden = !canWrite;
  $('open-share').hidden = view.space.role !== 'owner';
}

function sorted() {
  return [...view.nodes.values()].sort((a, b) => (a.type === b.type ? 0 : a.type === 'folder' ? -1 : 1)
      || a.name.localeCompare(b.name));
}

function renderFiles(fresh) {
  const rows = sorted().map(node => fileRow(node, fresh && fresh.has(node.id)));
  $('files').replaceChildren(...rows);
  $('files-empty').hidden = rows.length > 0;
}

function fileRow(node, fresh) {
  const canWrite = view.space.role !== 'viewer';
  const open = node.type === 'folder'
    ? el('a', { href: '#/space/' + encodeURIComponent(view.space.id) + '/' + encodeURIComponent(node.id),
      text: node.name + '/', 'aria-label': 'Open folder ' + node.name })
    : button(node.name, guarded(() => download(node)), { class: 'link', 'aria-label': 'Download ' + node.name });
  const actions = el('td', { class: 'actions' });
  if (node.type === 'file') {
    actions.append(button('Download', guarded(() => download(node)), { 'aria-label': 'Download ' + node.name }),
        button('Versions', guarded(() => showVersions(node)), { 'aria-label': 'Versions of ' + node.name }));
  }
  if (canWrite) {
    actions.append(button('Rename', guarded(() => rename(node)), { 'aria-label': 'Rename ' + node.name }),
        button('Move', guarded(() => move(node)), { 'aria-label': 'Move ' + node.name }),
        button('Delete', guarded(() => remove(node)), { 'aria-label': 'Delete ' + node.name }));
  }
  const row = el('tr', { data: { node: node.id, name: node.name, version: String(node.version) },
    class: fresh ? 'fresh' : null },
  el('td', { class: 'name' }, open),
  el('td', { text: node.type === 'file' ? size(node.size) : '' }),
  el('td', { text: when(node.modified_at) }),
  actions);
  if (fresh) {
    row.dataset.liveAt = String(Date.now());
  }
  return row;
}

/** A change of the open space, live or caught up from the log: keep the folder listing true to it. */
function applyChange(change) {
  if (!view.space || change.space !== view.space.id) {
    return;
  }
  if (change.kind === 'unshared' && change.member && view.me && change.member.user_id === view.me.id) {
    return;
  }
  const node = change.node;
  if (!node) {
    if ($('dialog-share').open) {
      renderMembers().catch(() => {});
    }
    return;
  }
  const known = view.nodes.get(node.id);
  if (known && known.version > node.version) {
    return;
  }
  const here = (node.parent_id || null) === (view.folder || null) && !node.deleted_at;
  if (here) {
    view.nodes.set(node.id, node);
  } else {
    view.nodes.delete(node.id);
  }
  if (view.trail.some(f => f.id === node.id)) {
    // A folder on the path was renamed, moved or deleted: read the path again.
    openSpace(view.space.id, view.folder).catch(error => notice(explain(error)));
    return;
  }
  renderFiles(here ? new Set([node.id]) : null);
}

function revoked(event) {
  if (view.space && event.space === view.space.id) {
    closeDialogs();
    leaveSpace();
    notice(event.reason === 'space_deleted' ? 'This space was deleted.' : 'You no longer have access to this space.');
    go(null);
  }
}

async function createFolder() {
  await cs.createFolder(view.space.id, view.folder, $('folder-name').value.trim());
  $('form-folder').reset();
}

async function download(node, version) {
  const blob = await cs.download(view.space.id, node.id, version);
  const url = URL.createObjectURL(blob);
  const link = el('a', { href: url, download: node.name, hidden: true });
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
}

/** What withConflictPrompt answers when the user kept the other change ("Keep theirs", or closed the dialog). */
const KEPT_THEIRS = Symbol('kept theirs');

/**
 * Runs a write that carries the version the user saw; on a conflict under the manual policy, asks what to do.
 * Answers the write's result, or KEPT_THEIRS when nothing was written (a write may itself answer null: a 204).
 */
async function withConflictPrompt(node, write, keepBoth) {
  try {
    return await write(node.version);
  } catch (error) {
    if (!(error instanceof CloudSyncError) || !['version_conflict', 'precondition_failed'].includes(error.code)) {
      throw error;
    }
    const current = error.current || await cs.node(view.space.id, node.id);
    $('conflict-text').textContent = '“' + current.name + '” was changed by someone else (now version '
        + current.version + ') after you opened it.';
    document.querySelector('#form-conflict button[value="copy"]').hidden = !keepBoth;
    const choice = await ask($('dialog-conflict'));
    if (choice === 'overwrite') {
      return write(current.version);
    }
    if (choice === 'copy' && keepBoth) {
      return keepBoth();
    }
    return KEPT_THEIRS;
  }
}

async function rename(node) {
  $('rename-name').value = node.name;
  if (await ask($('dialog-rename')) !== 'ok') {
    return;
  }
  const name = $('rename-name').value.trim();
  if (name && name !== node.name) {
    await withConflictPrompt(node, version => cs.rename(view.space.id, node.id, name, version));
  }
}

/** Folders of the space a node may move into (breadth first, bounded), the top level first. */
async function moveTargets(node) {
  const targets = [{ id: '', label: '/ (top level)' }];
  const queue = [{ id: null, path: '' }];
  for (let listed = 0; queue.length && targets.length < MOVE_TARGETS_MAX && listed < MOVE_LISTINGS_MAX; listed++) {
    const folder = queue.shift();
    for (const child of await cs.list(view.space.id, folder.id)) {
      if (child.type === 'folder' && child.id !== node.id) {
        const path = folder.path + '/' + child.name;
        targets.push({ id: child.id, label: path });
        queue.push({ id: child.id, path });
      }
    }
  }
  return targets;
}

async function move(node) {
  const select = $('move-target');
  select.replaceChildren(...(await moveTargets(node)).map(t => el('option', { value: t.id, text: t.label })));
  select.value = node.parent_id || '';
  if (await ask($('dialog-move')) !== 'ok') {
    return;
  }
  const target = select.value || null;
  if (target !== (node.parent_id || null)) {
    await withConflictPrompt(node, version => cs.move(view.space.id, node.id, target, version));
  }
}

async function remove(node) {
  if (await withConflictPrompt(node, version => cs.remove(view.space.id, node.id, version)) !== KEPT_THEIRS) {
    notice('“' + node.name + '” moved to the trash.', 'info');
  }
}

// ---- trash and versions -----------------------------------------------------------------------------------

async function showTrash() {
  await renderTrash();
  if (!$('dialog-trash').open) {
    $('dialog-trash').showModal();
  }
}

async function renderTrash() {
  const nodes = await cs.trash(view.space.id);
  const canWrite = view.space.role !== 'viewer';
  $('trash-list').replaceChildren(...nodes.map(node => el('li', { data: { node: node.id, name: node.name } },
      el('span', { class: 'grow', text: node.name + (node.type === 'folder' ? '/' : '') }),
      el('span', { class: 'role', text: node.purge_at ? 'purged ' + when(node.purge_at) : when(node.deleted_at) }),
      canWrite ? button('Restore', guarded(async () => {
        await cs.restore(view.space.id, node.id);
        await renderTrash();
      }), { 'aria-label': 'Restore ' + node.name }) : null,
      canWrite ? button('Delete forever', guarded(async () => {
        await cs.purge(view.space.id, node.id, node.version);
        await renderTrash();
      }), { 'aria-label': 'Delete ' + node.name + ' forever' }) : null)));
  $('trash-empty').hidden = nodes.length > 0;
}

async function showVersions(node) {
  const versions = await cs.versions(view.space.id, node.id);
  const canWrite = view.space.role !== 'viewer';
  $('versions-title').textContent = 'Versions of ' + node.name;
  $('versions-list').replaceChildren(...versions.map(v => el('li', { data: { version: String(v.version) } },
      el('span', { class: 'grow', text: 'Version ' + v.version + (v.current ? ' (current)' : '') }),
      el('span', { class: 'role', text: size(v.size) + ' · ' + when(v.created_at) }),
      button('Download', guarded(() => download(node, v.version)), { 'aria-label': 'Download version ' + v.version }),
      canWrite && !v.current ? button('Restore', guarded(async () => {
        await cs.restoreVersion(view.space.id, node.id, v.version);
        $('dialog-versions').close();
        notice('Version ' + v.version + ' of “' + node.name + '” is the newest again.', 'info');
      }), { 'aria-label': 'Restore version ' + v.version }) : null)));
  $('dialog-versions').showModal();
}

// ---- sharing ----------------------------------------------------------------------------------------------

async function showShare() {
  await renderMembers();
  $('dialog-share').showModal();
  $('share-email').focus();
}

async function renderMembers() {
  const members = await cs.members(view.space.id);
  $('members').replaceChildren(...members.map(m => el('li', { data: { user: m.user_id } },
      el('span', { class: 'grow', text: (m.display_name || m.email) + (m.display_name ? ' <' + m.email + '>' : '') }),
      el('span', { class: 'role', text: m.role }),
      view.me && m.user_id !== view.me.id ? button('Remove', guarded(async () => {
        await cs.unshare(view.space.id, m.user_id);
        await renderMembers();
      }), { 'aria-label': 'Remove ' + (m.display_name || m.email) }) : null)));
}

async function share() {
  await cs.share(view.space.id, $('share-email').value.trim(), $('share-role').value);
  $('share-email').value = '';
  await renderMembers();
  notice('Shared.', 'info');
}

// ---- search -----------------------------------------------------------------------------------------------

async function search() {
  const q = $('search-query').value.trim();
  if (!q) {
    return;
  }
  const nodes = await cs.search(q, view.space.id);
  $('search-list').replaceChildren(...nodes.map(node => el('li', {},
      el('a', { class: 'grow', href: '#/space/' + encodeURIComponent(view.space.id)
        + (node.type === 'folder' ? '/' + encodeURIComponent(node.id)
          : node.parent_id ? '/' + encodeURIComponent(node.parent_id) : ''),
      text: node.name + (node.type === 'folder' ? '/' : '') }),
      el('span', { class: 'role', text: node.type === 'file' ? size(node.size) : 'folder' }))));
  if (!nodes.length) {
    $('search-list').replaceChildren(el('li', { text: 'Nothing is named like “' + q + '”.' }));
  }
  $('search-results').hidden = false;
}

// ---- uploads ----------------------------------------------------------------------------------------------

function uploadKey(file) {
  return [view.space.id, view.folder || '', file.name, file.size, file.lastModified].join('|');
}

function uploadRow(file) {
  const key = uploadKey(file);
  let entry = uploads.get(key);
  if (!entry) {
    const bar = el('progress', { max: String(Math.max(file.size, 1)), value: '0', 'aria-label': 'Upload of ' + file.name });
    const status = el('span', { class: 'role', text: 'Starting…' });
    const row = el('li', { data: { upload: file.name } }, el('span', { text: file.name }), status, bar);
    entry = { row, bar, status };
    entry.dismiss = () => {
      row.remove();
      uploads.delete(key);
    };
    uploads.set(key, entry);
    $('uploads').append(row);
  }
  return entry;
}

async function uploadFiles(files) {
  const list = [...files].slice(0, MAX_FILES_PER_DROP);
  if (files.length > MAX_FILES_PER_DROP) {
    notice('Only the first ' + MAX_FILES_PER_DROP + ' files are uploaded at once.');
  }
  const queue = [...list];
  const worker = async () => {
    for (let file = queue.shift(); file; file = queue.shift()) {
      await uploadFile(file).catch(error => notice(file.name + ': ' + explain(error)));
    }
  };
  // Rows for all of them at once, so the user sees what is queued.
  list.forEach(file => uploadRow(file).status.textContent = 'Waiting…');
  await Promise.all(Array.from({ length: Math.min(PARALLEL_UPLOADS, list.length) }, worker));
  renderResumeHint();
}

async function uploadFile(file, asName) {
  const space = view.space.id;
  const folder = view.folder;
  const target = asName ? new File([file], asName, { type: file.type, lastModified: file.lastModified }) : file;
  const existing = [...view.nodes.values()].find(n => n.type === 'file' && n.name === target.name);
  const entry = uploadRow(target);
  const started = Date.now();
  entry.row.dataset.state = 'uploading';
  delete entry.row.dataset.firstProgress;
  const write = ifMatch => cs.upload(space, target, {
    parentId: folder,
    ifMatch,
    onProgress: (sent, total) => {
      entry.bar.max = Math.max(total, 1);
      entry.bar.value = sent;
      entry.status.textContent = Math.floor(sent * 100 / Math.max(total, 1)) + '% of ' + size(total);
      entry.row.dataset.progress = String(sent);
      if (!entry.row.dataset.firstProgress) {
        entry.row.dataset.firstProgress = String(sent);
      }
      entry.row.dataset.updates = String(Number(entry.row.dataset.updates || 0) + 1);
    },
  }).then(upload => upload.promise);
  let node;
  try {
    node = existing
      ? await withConflictPrompt(existing, write, () => uploadFile(file, copyName(file.name)))
      : await write(undefined);
  } catch (error) {
    entry.row.dataset.state = 'failed';
    entry.status.textContent = 'Failed: ' + explain(error);
    addDismiss(entry, target.name);
    throw error;
  }
  entry.bar.value = entry.bar.max;
  entry.status.textContent = node === KEPT_THEIRS ? 'Not uploaded' : 'Uploaded in ' + ((Date.now() - started) / 1000).toFixed(1) + ' s';
  entry.row.dataset.state = node === KEPT_THEIRS ? 'cancelled' : 'done';
  entry.row.dataset.doneAt = String(Date.now());
  addDismiss(entry, target.name);
  return node;
}

function addDismiss(entry, name) {
  if (!entry.row.querySelector('button')) {
    entry.row.append(button('Dismiss', entry.dismiss, { 'aria-label': 'Dismiss upload of ' + name }));
  }
}

function copyName(name) {
  const dot = name.lastIndexOf('.');
  const stamp = ' (copy ' + new Date().toISOString().slice(0, 19).replace('T', ' ').replace(/:/g, '.') + ')';
  return dot > 0 ? name.slice(0, dot) + stamp + name.slice(dot) : name + stamp;
}

/** Uploads a reload interrupted: picking the same file again into the same folder resumes it. */
async function renderResumeHint() {
  const hint = $('resume-hint');
  try {
    const pending = view.space ? await cs.pendingUploads(view.space.id) : [];
    if (!pending.length) {
      hint.hidden = true;
      return;
    }
    hint.textContent = 'Unfinished uploads: ' + pending.map(p => p.name).join(', ')
        + '. Upload the same file again into the same folder and it continues where it stopped.';
    hint.hidden = false;
  } catch (error) {
    hint.hidden = true;
  }
}

function setUpDropzone() {
  const zone = $('dropzone');
  zone.addEventListener('dragover', event => {
    if (view.space && view.space.role !== 'viewer') {
      event.preventDefault();
      zone.classList.add('over');
    }
  });
  zone.addEventListener('dragleave', () => zone.classList.remove('over'));
  zone.addEventListener('drop', event => {
    event.preventDefault();
    zone.classList.remove('over');
    if (view.space && event.dataTransfer && event.dataTransfer.files.length) {
      uploadFiles(event.dataTransfer.files);
    }
  });
}

// ---- start ------------------------------------------------------------------------------------------------

function wire() {
  $('tab-signin').addEventListener('click', () => selectTab('signin'));
  $('tab-signup').addEventListener('click', () => selectTab('signup'));
  $('form-signin').addEventListener('submit', guarded(signIn));
  $('form-signup').addEventListener('submit', guarded(signUp));
  $('sign-out').addEventListener('click', guarded(signOut));
  $('form-space').addEventListener('submit', guarded(createSpace));
  $('form-folder').addEventListener('submit', guarded(createFolder));
  $('form-search').addEventListener('submit', guarded(search));
  $('search-close').addEventListener('click', () => { $('search-results').hidden = true; });
  $('open-share').addEventListener('click', guarded(showShare));
  $('form-share').addEventListener('submit', guarded(share));
  $('open-trash').addEventListener('click', guarded(showTrash));
  $('upload-input').addEventListener('change', event => {
    const files = [...event.target.files];
    event.target.value = '';
    uploadFiles(files);
  });
  for (const close of document.querySelectorAll('dialog .close')) {
    close.addEventListener('click', () => close.closest('dialog').close());
  }
  setUpDropzone();
  window.addEventListener('hashchange', () => {
    if (cs.adoptFragment()) {
      view.me = null;
    }
    route().catch(error => notice(explain(error)));
  });
  cs.onChange(applyChange);
  cs.onRevoked(revoked);
  cs.onStatus(({ connected }) => {
    const status = $('live-status');
    status.hidden = false;
    status.className = connected ? 'live on' : 'live';
    status.textContent = connected ? 'Live' : 'Reconnecting…';
  });
  cs.onSignedOut(() => {
    view.me = null;
    leaveSpace();
    showAuth();
  });
}

async function start() {
  wire();
  cs.adoptFragment();
  try {
    await route();
  } catch (error) {
    if (error instanceof CloudSyncError && (error.status === 401 || error.status === 404)) {
      if (error.status === 404) {
        notice('That space or folder is not there (or not shared with you).');
        go(null);
        return;
      }
      cs.forget();
      showAuth();
      return;
    }
    notice(explain(error));
  }
}

start();

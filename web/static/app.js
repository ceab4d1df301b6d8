// @ts-check
// app.js renders the join screen and the room; protocol.js does the talking.
import { Session } from './protocol.js';
import { Audio } from './audio.js';
import { t } from './i18n.js';
import { icons } from './icons.js';

/** @typedef {import('./protocol.js').Participant} Participant */

const $ = (/** @type {string} */ id) => /** @type {HTMLElement} */ (document.getElementById(id));
const roomSlug = document.body.dataset.room || '';
const audio = new Audio();

/** @type {MediaStream|null} */
let local = null;
/** @type {Session|null} */
let session = null;

/** getMedia asks for camera and microphone, falling back to audio, then to nothing. */
async function getMedia() {
  const note = $('media-note');
  try {
    return await navigator.mediaDevices.getUserMedia({ audio: true, video: true });
  } catch {}
  try {
    const s = await navigator.mediaDevices.getUserMedia({ audio: true });
    note.textContent = t('noCamera');
    note.hidden = false;
    return s;
  } catch {}
  note.textContent = t('noMedia');
  note.hidden = false;
  return null;
}

function translate() {
  document.documentElement.lang = t('join') === 'Beitreten' ? 'de' : 'en';
  for (const el of document.querySelectorAll('[data-i18n]')) {
    el.textContent = t(/** @type {HTMLElement} */ (el).dataset.i18n || '');
  }
  for (const el of document.querySelectorAll('[data-i18n-title]')) {
    const label = t(/** @type {HTMLElement} */ (el).dataset.i18nTitle || '');
    el.setAttribute('title', label);
    el.setAttribute('aria-label', label);
  }
  $('mic').innerHTML = icons.mic;
  $('cam').innerHTML = icons.cam;
  $('leave').innerHTML = icons.leave;
}

async function setupJoinScreen() {
  translate();
  const name = /** @type {HTMLInputElement} */ ($('name'));
  name.value = new URLSearchParams(location.search).get('name') || localStorage.getItem('dialroom.name') || '';
  const media = getMedia().then((s) => {
    local = s;
    if (s && s.getVideoTracks().length > 0) /** @type {HTMLVideoElement} */ ($('preview')).srcObject = s;
    else $('preview').hidden = true;
  });
  $('join').addEventListener('click', async () => {
    const button = /** @type {HTMLButtonElement} */ ($('join'));
    button.disabled = true;
    button.textContent = t('joining');
    audio.context(); // created inside the click so it may play
    await media;
    const n = name.value.trim() || t('you');
    localStorage.setItem('dialroom.name', n);
    join(n).catch((err) => showJoinError(String(err)));
  });
}

/** @param {string} message */
function showJoinError(message) {
  const button = /** @type {HTMLButtonElement} */ ($('join'));
  button.disabled = false;
  button.textContent = t('join');
  $('join-error').textContent = message;
  $('join-error').hidden = false;
}

/** @param {string} name */
async function join(name) {
  const url = `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/ws`;
  const s = new Session(url, local);
  session = s;
  s.onjoined = (id) => {
    $('join-screen').hidden = true;
    $('room-screen').hidden = false;
    addSelfTile(id, name);
  };
  s.onroster = renderRoster;
  s.onspeaking = (id, speaking) => {
    const tile = tileOf(id);
    if (tile && tile.dataset.kind === 'phone') tile.dataset.speaking = String(speaking);
  };
  s.onstream = attachStream;
  s.onerror = (code) => {
    if (!s.id) showJoinError(t(code) === code ? t('error') : t(code));
  };
  s.onclose = () => {
    $('status').textContent = t(s.id ? 'disconnected' : 'error');
  };
  await s.join(roomSlug, name);
}

/** @param {string} id */
function tileOf(id) {
  return /** @type {HTMLElement|null} */ (document.querySelector(`.tile[data-participant="${CSS.escape(id)}"]`));
}

/**
 * makeTile creates an empty tile for a participant.
 * @param {Participant} p
 */
function makeTile(p) {
  const tile = document.createElement('div');
  tile.className = 'tile';
  tile.dataset.participant = p.id;
  tile.dataset.kind = p.kind === 'phone' ? 'phone' : 'web';
  tile.dataset.speaking = String(p.kind === 'phone' && !!p.speaking);
  const avatar = document.createElement('div');
  avatar.className = 'avatar';
  const label = document.createElement('div');
  label.className = 'label';
  const text = document.createElement('span');
  const unknown = p.kind === 'phone' && (!p.name || p.name === 'Unknown caller');
  const name = unknown ? t('unknownCaller') : p.name || '?';
  text.textContent = name;
  if (p.kind === 'phone') {
    avatar.innerHTML = icons.phone;
    label.innerHTML = icons.phone;
  } else {
    avatar.textContent = name.slice(0, 1).toUpperCase();
  }
  label.append(text);
  tile.append(avatar, label);
  $('grid').append(tile);
  layout();
  return tile;
}

/**
 * @param {string} id
 * @param {string} name
 */
function addSelfTile(id, name) {
  const tile = makeTile({ id, name: `${name} (${t('you')})`, kind: 'web', speaking: false });
  tile.dataset.self = 'true';
  if (local) {
    if (local.getVideoTracks().length > 0) showVideo(tile, local);
    audio.watch(id, local, (sp) => (tile.dataset.speaking = String(sp)));
  }
}

/**
 * renderRoster adds tiles for new participants and removes departed ones.
 * @param {Participant[]} list
 */
function renderRoster(list) {
  if (!session || !session.id) return;
  const ids = new Set(list.map((p) => p.id));
  for (const tile of document.querySelectorAll('.tile')) {
    const id = /** @type {HTMLElement} */ (tile).dataset.participant || '';
    if (!ids.has(id)) {
      audio.unwatch(id);
      tile.remove();
    }
  }
  for (const p of list) {
    if (p.id === session.id) continue;
    let tile = tileOf(p.id);
    if (!tile) {
      tile = makeTile(p);
      const stream = session.streams.get(p.id);
      if (stream) attachStream(p.id, stream);
    }
    if (p.kind === 'phone') tile.dataset.speaking = String(!!p.speaking);
  }
  layout();
}

/**
 * attachStream plays a participant's stream: an audio element always (so the
 * audio plays and WebAudio receives it), a video element when there is video.
 * @param {string} id
 * @param {MediaStream} stream
 */
function attachStream(id, stream) {
  const tile = tileOf(id);
  if (!tile) return;
  let el = /** @type {HTMLAudioElement|null} */ (tile.querySelector('audio'));
  if (!el) {
    el = document.createElement('audio');
    el.autoplay = true;
    tile.append(el);
  }
  if (el.srcObject !== stream) el.srcObject = stream;
  el.play().catch(() => {});
  const update = () => {
    if (stream.getVideoTracks().length > 0) showVideo(tile, stream);
    if (tile.dataset.kind === 'web') audio.watch(id, stream, (sp) => (tile.dataset.speaking = String(sp)));
  };
  stream.onaddtrack = update;
  update();
}

/**
 * @param {HTMLElement} tile
 * @param {MediaStream} stream
 */
function showVideo(tile, stream) {
  let v = /** @type {HTMLVideoElement|null} */ (tile.querySelector('video'));
  if (!v) {
    v = document.createElement('video');
    v.autoplay = true;
    v.muted = true;
    v.playsInline = true;
    tile.querySelector('.avatar')?.remove();
    tile.prepend(v);
  }
  if (v.srcObject !== stream) v.srcObject = stream;
}

/** layout picks the number of grid columns for the number of tiles. */
function layout() {
  const n = document.querySelectorAll('.tile').length;
  $('grid').style.setProperty('--cols', String(Math.max(1, Math.ceil(Math.sqrt(n)))));
}

function setupControls() {
  const mic = $('mic');
  const cam = $('cam');
  mic.addEventListener('click', () => {
    const tracks = local ? local.getAudioTracks() : [];
    const muted = mic.getAttribute('aria-pressed') !== 'true';
    for (const tr of tracks) tr.enabled = !muted;
    mic.setAttribute('aria-pressed', String(muted));
    mic.innerHTML = muted ? icons.micOff : icons.mic;
    session?.setMuted(muted);
  });
  cam.addEventListener('click', () => {
    const off = cam.getAttribute('aria-pressed') !== 'true';
    for (const tr of local ? local.getVideoTracks() : []) tr.enabled = !off;
    cam.setAttribute('aria-pressed', String(off));
    cam.innerHTML = off ? icons.camOff : icons.cam;
  });
  $('leave').addEventListener('click', () => {
    if (session) session.onclose = () => {};
    session?.leave();
    for (const tr of local ? local.getTracks() : []) tr.stop();
    $('grid').replaceChildren();
    $('status').textContent = t('left');
  });
}

/**
 * The hook the end-to-end tests use: dominant frequency and level of a
 * participant's received audio (or of the local microphone for oneself).
 * @param {string} participantId
 */
async function audioPeak(participantId) {
  const stream = session && participantId === session.id ? local : session?.streams.get(participantId);
  if (!stream) throw new Error(`no stream for ${participantId}`);
  return audio.peak(stream);
}

/** @type {any} */ (window).dialroom = { audioPeak, session: () => session };
setupControls();
setupJoinScreen();

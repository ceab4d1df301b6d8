// @ts-check
// app.js runs the join screen and the room: tiles.js arranges the tiles,
// sidebar.js shows participants and chat, devices.js picks devices, and
// protocol.js does the talking.
import { Session, SLOT_STREAM } from './protocol.js';
import { Audio } from './audio.js';
import { t, currentLang, setLang } from './i18n.js';
import { icons } from './icons.js';
import { Tiles } from './tiles.js';
import { Sidebar } from './sidebar.js';
import { Devices } from './devices.js';
import { Quality } from './quality.js';
import { Lobby } from './lobby.js';

/** @typedef {import('./protocol.js').Participant} Participant */

const $ = (/** @type {string} */ id) => /** @type {HTMLElement} */ (document.getElementById(id));
const roomSlug = document.body.dataset.room || '';
const params = new URLSearchParams(location.search);
const modToken = params.get('mod') || '';
const audio = new Audio();
const devices = new Devices(audio);
const tiles = new Tiles($('grid'), $('pager'));
const sidebar = new Sidebar();
const quality = new Quality((id) => tiles.tileOf(id));
const lobby = new Lobby();

/** @type {MediaStream|null} */
let local = null;
/** @type {Session|null} */
let session = null;
let myName = '';
let leaving = false;
let retries = 0;
/** @type {WeakSet<Session>} sessions whose end was handled */
const closed = new WeakSet();

/**
 * setIcon replaces a button's icon and keeps its other children (badges).
 * @param {HTMLElement} el
 * @param {string} svg
 */
function setIcon(el, svg) {
  let span = /** @type {HTMLElement|null} */ (el.querySelector('.icon'));
  if (!span) {
    span = document.createElement('span');
    span.className = 'icon';
    el.prepend(span);
  }
  span.innerHTML = svg;
}

function translate() {
  document.documentElement.lang = currentLang();
  for (const id of ['lang', 'lang-room']) /** @type {HTMLSelectElement} */ ($(id)).value = currentLang();
  for (const el of document.querySelectorAll('[data-i18n]')) {
    el.textContent = t(/** @type {HTMLElement} */ (el).dataset.i18n || '');
  }
  for (const el of document.querySelectorAll('[data-i18n-title]')) {
    const label = t(/** @type {HTMLElement} */ (el).dataset.i18nTitle || '');
    el.setAttribute('title', label);
    el.setAttribute('aria-label', label);
  }
  const mic = $('mic').getAttribute('aria-pressed') === 'true';
  const cam = $('cam').getAttribute('aria-pressed') === 'true';
  setIcon($('mic'), mic ? icons.micOff : icons.mic);
  setIcon($('cam'), cam ? icons.camOff : icons.cam);
  for (const [id, icon] of /** @type {[string, string][]} */ ([['leave', icons.leave], ['hand', icons.hand], ['share', icons.screen],
    ['view', icons.view], ['people-toggle', icons.people], ['chat-toggle', icons.chat], ['settings-toggle', icons.gear]])) {
    setIcon($(id), icon);
  }
  tiles.relabel();
  lobby.relabel();
  if (session?.id) render(session);
}

async function setupJoinScreen() {
  translate();
  for (const id of ['lang', 'lang-room']) {
    $(id).addEventListener('change', () => {
      setLang(/** @type {'de'|'en'} */ (/** @type {HTMLSelectElement} */ ($(id)).value));
      translate();
    });
  }
  const name = /** @type {HTMLInputElement} */ ($('name'));
  name.value = params.get('name') || localStorage.getItem('dialroom.name') || '';
  // Browsers start audio only after a gesture: the level meter moves from the first touch or key.
  for (const ev of ['pointerdown', 'keydown']) document.addEventListener(ev, () => audio.context(), { once: true });
  devices.onchange = switchDevices;
  const media = devices.acquire().then((s) => {
    local = s;
    if (devices.note) {
      $('media-note').textContent = t(devices.note);
      $('media-note').hidden = false;
    }
  });
  $('join').addEventListener('click', async () => {
    const button = /** @type {HTMLButtonElement} */ ($('join'));
    button.disabled = true;
    button.textContent = t('joining');
    audio.context(); // created inside the click so it may play
    await media;
    myName = name.value.trim() || t('you');
    localStorage.setItem('dialroom.name', myName);
    join().catch((err) => showJoinError(String(err)));
  });
  $('rejoin').addEventListener('click', () => location.reload());
}

/** @param {string} message */
function showJoinError(message) {
  const button = /** @type {HTMLButtonElement} */ ($('join'));
  button.disabled = false;
  button.textContent = t('join');
  $('join-error').textContent = message;
  $('join-error').hidden = false;
}

/**
 * switchDevices sends the newly chosen camera and microphone instead of the old ones.
 * @param {MediaStream|null} next
 */
async function switchDevices(next) {
  const old = local;
  local = next;
  if (!session || !next) return;
  const micOff = $('mic').getAttribute('aria-pressed') === 'true';
  const camOff = $('cam').getAttribute('aria-pressed') === 'true';
  for (const tr of next.getAudioTracks()) tr.enabled = !micOff;
  for (const tr of next.getVideoTracks()) tr.enabled = !camOff;
  for (const sender of session.pc.getSenders()) {
    const kind = sender.track?.kind;
    const track = kind === 'audio' ? next.getAudioTracks()[0] : kind === 'video' ? next.getVideoTracks()[0] : undefined;
    if (track) await sender.replaceTrack(track).catch(() => {});
  }
  for (const tr of old ? old.getTracks() : []) tr.stop();
  const self = tiles.tileOf(session.id);
  if (self) {
    self.querySelector('video')?.remove();
    if (next.getVideoTracks().length > 0) showVideo(self, next);
    audio.watch(session.id, next, (sp) => tiles.setSpeaking(session?.id || '', sp));
  }
}

/** join connects a new Session; it is also how a lost connection is retried. */
async function join() {
  const url = `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/ws`;
  const s = new Session(url, local);
  session = s;
  s.onjoined = (id) => {
    retries = 0;
    $('banner').hidden = true;
    $('join-screen').hidden = true;
    $('room-screen').hidden = false;
    $('settings').append($('devices'));
    $('status').textContent = '';
    sidebar.attach(s);
    addSelfTile(id);
    quality.start(s);
    // The roster that follows joined makes the tiles and lays them out,
    // which reports the first view: sent now, it would list no tiles.
  };
  s.onroster = () => {
    render(s);
    setMicLocked(!!s.participants.get(s.id || '')?.muteLocked);
  };
  // The server tells who speaks (from the audio level header, and the mixer
  // for phones); only the self-view measures its own microphone.
  s.onspeaking = (id, speaking) => {
    if (id !== s.id) tiles.setSpeaking(id, speaking);
  };
  s.onstream = attachStream;
  s.onslot = attachSlot;
  s.onspeaker = (id) => tiles.setActive(id);
  s.onlayers = (layers) => {
    for (const tile of tiles.all()) {
      const l = layers.get(tile.dataset.participant || '');
      if (l) tile.dataset.layer = l.layer;
    }
  };
  s.onchat = (m) => sidebar.add(m, !$('chat').hidden);
  s.oncontrol = onControl;
  s.onerror = (code) => {
    const text = t(code) === code ? t('error') : t(code);
    if (!s.id && retries === 0) showJoinError(text);
    else if (s.id) toast(text);
  };
  s.onclose = () => onClosed(s);
  // In a lobby room a guest waits first; once admitted the join is sent again.
  lobby.attach(s, { rejoin: () => s.send({ type: 'join', room: roomSlug, name: myName }), end: showEnd });
  await s.join(roomSlug, myName, modToken);
}

/**
 * onClosed shows why the session ended, or reconnects after a lost connection.
 * @param {Session} s
 */
function onClosed(s) {
  if (s !== session || leaving || closed.has(s)) return;
  closed.add(s);
  if (s.ended === 'removed' || s.ended === 'ended') return; // onControl showed why
  if (!s.id && (retries === 0 || s.ended)) {
    if (retries > 0) showEnd(t(s.ended)); // the room was locked while we were away
    else if (!s.ended) showJoinError(t('error'));
    return;
  }
  quality.stop();
  $('banner').textContent = t('reconnecting');
  $('banner').hidden = false;
  s.pc.close();
  for (const tile of tiles.all()) {
    audio.unwatch(tile.dataset.participant || '');
    tile.remove();
  }
  slotAudio().replaceChildren();
  const delay = Math.min(10000, 1000 * 2 ** retries++);
  setTimeout(() => join().catch(() => onClosed(/** @type {Session} */ (session))), delay);
}

/**
 * onControl handles what a moderator did to us.
 * @param {string} action
 * @param {string} by
 */
function onControl(action, by) {
  if (action === 'mute') {
    setMic(true);
    toast(t('mutedBy', { by }));
    return;
  }
  showEnd(action === 'ended' ? t('ended', { by }) : t('removed'));
}

/**
 * showEnd leaves the room for good and says why.
 * @param {string} text
 */
function showEnd(text) {
  leaving = true;
  quality.stop();
  for (const tr of local ? local.getTracks() : []) tr.stop();
  session?.pc.close();
  slotAudio().replaceChildren();
  $('banner').hidden = true;
  $('room-screen').hidden = true;
  $('end-screen').hidden = false;
  $('end-text').textContent = text;
}

/** @param {string} text */
function toast(text) {
  const el = $('toast');
  el.textContent = text;
  el.hidden = false;
  clearTimeout(Number(el.dataset.timer));
  el.dataset.timer = String(setTimeout(() => (el.hidden = true), 5000));
}

/** @param {string} id */
function addSelfTile(id) {
  const tile = tiles.make({ id, name: myName, kind: 'web', speaking: false }, `${myName} (${t('you')})`);
  tile.dataset.self = 'true';
  if (local) {
    if (local.getVideoTracks().length > 0) showVideo(tile, local);
    audio.watch(id, local, (sp) => tiles.setSpeaking(id, sp));
  }
}

/**
 * label is the name a participant's tile shows.
 * @param {Participant} p
 */
function label(p) {
  if (p.kind === 'phone' && (!p.name || p.name === 'Unknown caller')) return t('unknownCaller');
  return session && p.id === session.id ? `${p.name} (${t('you')})` : p.name || '?';
}

/**
 * render adds tiles for new participants, removes departed ones and updates
 * the tiles and the participant list.
 * @param {Session} s
 */
function render(s) {
  if (!s.id || s !== session) return;
  const list = [...s.participants.values()];
  const ids = new Set(list.map((p) => p.id));
  for (const tile of tiles.all()) {
    const id = tile.dataset.participant || '';
    if (!ids.has(id) && id !== s.id) {
      audio.unwatch(id);
      tiles.remove(id);
    }
  }
  for (const p of list) {
    if (!tiles.tileOf(p.id)) {
      tiles.make(p, label(p));
      const stream = s.streams.get(p.id);
      if (stream) attachStream(p.id, stream);
    }
    tiles.update(p, label(p));
  }
  const me = s.participants.get(s.id);
  $('hand').setAttribute('aria-pressed', String(!!me?.hand));
  $('hand').setAttribute('aria-label', t(me?.hand ? 'lowerHand' : 'raiseHand'));
  const speaker = tiles.view === 'speaker';
  $('view').setAttribute('aria-pressed', String(speaker));
  $('view').setAttribute('aria-label', t(speaker ? 'gridView' : 'speakerView'));
  $('locked-badge').hidden = !s.locked;
  sidebar.setPeople(list, s.locked);
  if (s.speaker) tiles.setActive(s.speaker); // told before its tile existed
  tiles.layout();
}

/**
 * attachStream plays a participant's stream: an audio element always (so the
 * audio plays and WebAudio receives it), a video element when there is video.
 * @param {string} id
 * @param {MediaStream} stream
 */
function attachStream(id, stream) {
  const tile = tiles.tileOf(id);
  if (!tile) return;
  let el = /** @type {HTMLAudioElement|null} */ (tile.querySelector('audio'));
  if (!el) {
    el = document.createElement('audio');
    el.autoplay = true;
    devices.applySpeaker(el);
    tile.append(el);
  }
  if (el.srcObject !== stream) el.srcObject = stream;
  el.play().catch(() => {});
  const update = () => {
    if (stream.getVideoTracks().length > 0) showVideo(tile, stream);
  };
  stream.onaddtrack = update;
  update();
}

/**
 * slotAudio returns the hidden element that holds the audio slots' players.
 * @returns {HTMLElement}
 */
function slotAudio() {
  let box = document.getElementById('slot-audio');
  if (!box) {
    box = document.createElement('div');
    box.id = 'slot-audio';
    box.hidden = true;
    document.body.append(box);
  }
  return box;
}

/**
 * attachSlot plays one of the server's audio slots in a hidden audio element
 * (on the chosen output device, like the tiles' audio). A slot carries
 * whoever the server finds audible, so it gets no tile: the speaking
 * indicators come from the server's speaking and speaker messages.
 * @param {string} slot the slot's track ID
 * @param {MediaStream} stream
 */
function attachSlot(slot, stream) {
  const box = slotAudio();
  let el = /** @type {HTMLAudioElement|null} */ (box.querySelector(`audio[data-slot="${CSS.escape(slot)}"]`));
  if (!el) {
    el = document.createElement('audio');
    el.dataset.slot = slot;
    el.autoplay = true;
    devices.applySpeaker(el);
    box.append(el);
  }
  if (el.srcObject !== stream) el.srcObject = stream;
  el.play().catch(() => {});
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

let viewAt = 0;
let viewTimer = 0;

/**
 * reportView tells the server which tiles are on screen and their sizes,
 * at most every 300 ms (the last change always goes out).
 */
function reportView() {
  if (!session?.id) return;
  const wait = viewAt + 300 - Date.now();
  if (wait > 0) {
    if (!viewTimer) viewTimer = window.setTimeout(() => {
      viewTimer = 0;
      reportView();
    }, wait);
    return;
  }
  viewAt = Date.now();
  session.setView(tiles.visible());
}
tiles.onlayout = reportView;
window.addEventListener('resize', reportView);
document.addEventListener('visibilitychange', reportView);

/** @type {MediaStreamTrack|null} the screen track being sent instead of the camera */
let screen = null;

/** videoSender is the sender of our camera track, or null without a camera. */
function videoSender() {
  return session?.pc.getSenders().find((s) => s.track && s.track.kind === 'video') || null;
}

/** toggleShare sends the screen in place of the camera, or the camera again. */
async function toggleShare() {
  const sender = videoSender();
  if (!session || !sender) {
    toast(t('shareNeedsCamera'));
    return;
  }
  if (screen) {
    stopShare();
    return;
  }
  let stream;
  try {
    stream = await navigator.mediaDevices.getDisplayMedia({ video: true, audio: false });
  } catch {
    return; // the user cancelled
  }
  screen = stream.getVideoTracks()[0];
  screen.onended = stopShare;
  await sender.replaceTrack(screen);
  session.setSharing(true);
  const self = tiles.tileOf(session.id);
  if (self) showVideo(self, stream);
  $('share').setAttribute('aria-pressed', 'true');
  $('share').setAttribute('aria-label', t('stopShare'));
}

function stopShare() {
  if (!screen) return;
  screen.onended = null;
  screen.stop();
  screen = null;
  const cam = local?.getVideoTracks()[0];
  const sender = videoSender();
  if (sender && cam) sender.replaceTrack(cam).catch(() => {});
  session?.setSharing(false);
  const self = session && tiles.tileOf(session.id);
  if (self && local) showVideo(self, local);
  $('share').setAttribute('aria-pressed', 'false');
  $('share').setAttribute('aria-label', t('share'));
}

/**
 * setMicLocked disables the mic button while a moderator locked our mute
 * (the server refuses our own unmute then).
 * @param {boolean} locked
 */
function setMicLocked(locked) {
  const mic = /** @type {HTMLButtonElement} */ ($('mic'));
  mic.disabled = locked;
  mic.title = t(locked ? 'muteLocked' : 'mic');
}

/** @param {boolean} muted */
function setMic(muted) {
  for (const tr of local ? local.getAudioTracks() : []) tr.enabled = !muted;
  $('mic').setAttribute('aria-pressed', String(muted));
  setIcon($('mic'), muted ? icons.micOff : icons.mic);
  session?.setMuted(muted);
}

/**
 * togglePanel shows one side panel (people, chat or settings) and hides the others.
 * @param {string} id
 * @param {boolean} [show]
 */
function togglePanel(id, show) {
  for (const p of ['people', 'chat', 'settings']) {
    const on = p === id ? (show ?? $(p).hidden) : false;
    $(p).hidden = !on;
    $(`${p}-toggle`).setAttribute('aria-expanded', String(on));
  }
  if (id === 'chat' && !$('chat').hidden) sidebar.markRead();
}

function setupControls() {
  const cam = $('cam');
  $('mic').addEventListener('click', () => setMic($('mic').getAttribute('aria-pressed') !== 'true'));
  cam.addEventListener('click', () => {
    const off = cam.getAttribute('aria-pressed') !== 'true';
    for (const tr of local ? local.getVideoTracks() : []) tr.enabled = !off;
    cam.setAttribute('aria-pressed', String(off));
    setIcon(cam, off ? icons.camOff : icons.cam);
  });
  $('share').addEventListener('click', () => toggleShare());
  $('hand').addEventListener('click', () => session?.setHand($('hand').getAttribute('aria-pressed') !== 'true'));
  $('view').addEventListener('click', () => {
    const speaker = tiles.view === 'grid';
    tiles.setView(speaker ? 'speaker' : 'grid');
    $('view').setAttribute('aria-pressed', String(speaker));
    $('view').setAttribute('aria-label', t(speaker ? 'gridView' : 'speakerView'));
  });
  for (const p of ['people', 'chat', 'settings']) $(`${p}-toggle`).addEventListener('click', () => togglePanel(p));
  document.addEventListener('dialroom:chat', () => togglePanel('chat', true));
  $('mute-all').addEventListener('click', () => session?.moderate('mute_all'));
  $('lock-room').addEventListener('click', () => session?.moderate(session.locked ? 'unlock' : 'lock'));
  $('end-meeting').addEventListener('click', () => {
    if (confirm(t('confirmEnd'))) session?.moderate('end');
  });
  document.addEventListener('keydown', (e) => {
    if (e.key === 'Escape') togglePanel('', false);
  });
  $('leave').addEventListener('click', () => {
    leaving = true;
    quality.stop();
    session?.leave();
    for (const tr of local ? local.getTracks() : []) tr.stop();
    tiles.grid.replaceChildren();
    slotAudio().replaceChildren();
    $('status').textContent = t('left');
  });
}

/**
 * The hook the end-to-end tests use: dominant frequency and level of a
 * participant's received audio (or of the local microphone for oneself).
 * With audio slots, a browser participant's audio is that of all slots
 * together, as is the audio of the ID SLOT_STREAM.
 * @param {string} participantId
 */
async function audioPeak(participantId) {
  const stream = session && participantId === session.id ? local : session?.streams.get(participantId);
  if (stream && stream.getAudioTracks().length > 0) return audio.peak([stream]);
  // Browser participants' audio arrives on the audio slots, which cannot be
  // told apart by speaker: measure all of them together.
  const slots = [...(session?.slots.values() || [])];
  const web = session?.participants.get(participantId)?.kind === 'web';
  if (slots.length > 0 && (participantId === SLOT_STREAM || web)) return audio.peak(slots);
  throw new Error(`no audio for ${participantId}`);
}

/** @type {any} */ (window).dialroom = { audioPeak, session: () => session };
setupControls();
setupJoinScreen();

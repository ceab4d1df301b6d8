// @ts-check
// i18n.js holds the UI strings in German and English.

const strings = {
  en: {
    yourName: 'Your name',
    join: 'Join',
    joining: 'Joining…',
    mic: 'Microphone on/off',
    cam: 'Camera on/off',
    leave: 'Leave',
    you: 'You',
    noCamera: 'No camera found: joining with audio only.',
    noMedia: 'No camera or microphone: you can listen and watch.',
    left: 'You left the meeting.',
    disconnected: 'Connection lost.',
    unknownCaller: 'Unknown caller',
    room_not_found: 'This room does not exist.',
    invalid_name: 'Please enter a name (up to 64 characters).',
    error: 'Something went wrong.',
    people: 'Participants',
    quality_good: 'Connection good',
    quality_fair: 'Connection fair',
    quality_poor: 'Connection poor',
    share: 'Share screen',
    stopShare: 'Stop sharing',
    shareNeedsCamera: 'Screen sharing needs a camera when you join.',
    phoneCaller: 'By phone',
    chat: 'Chat',
    raiseHand: 'Raise hand',
    lowerHand: 'Lower hand',
    everyone: 'Everyone',
    send: 'Send',
    message: 'Message',
    sendTo: 'Send to',
    moderator: 'Moderator',
    counts: '{web} in the browser, {phone} by phone',
    muteAll: 'Mute all',
    lock: 'Lock room',
    unlock: 'Unlock room',
    endMeeting: 'End meeting',
    confirmEnd: 'End the meeting for everyone?',
    mute: 'Mute',
    remove: 'Remove',
    hangUp: 'Hang up',
    rename: 'Rename',
    newName: 'New name',
    makeModerator: 'Make moderator',
    handRaised: 'Hand raised',
    muted: 'Muted',
    locked: 'Room locked',
    removed: 'A moderator removed you from the meeting.',
    ended: '{by} ended the meeting.',
    mutedBy: '{by} muted your microphone.',
    muteLocked: 'Muted by a moderator (locked)',
    lockMute: 'Mute and lock',
    unlockMute: 'Unlock mute',
    mute_locked: 'A moderator locked your microphone.',
    room_locked: 'This room is locked. Ask a moderator to unlock it.',
    sign_in_required: 'This room is for signed-in users only. Sign in at /login first, or open the invitation link you were given.',
    link_expired: 'This invitation link has expired. Ask the organiser for a new one.',
    link_invalid: 'This invitation link is no longer valid. Ask the organiser for a new one.',
    forbidden: 'Only moderators may do that.',
    no_participant: 'That participant has left.',
    bad_chat: 'Messages must be 1 to 2000 characters.',
    reconnecting: 'Connection lost. Reconnecting…',
    speakerView: 'Speaker view',
    gridView: 'Grid view',
    pin: 'Pin',
    unpin: 'Unpin',
    prevPage: 'Previous page',
    nextPage: 'Next page',
    pageOf: 'Page {page} of {pages}',
    settings: 'Devices',
    camera: 'Camera',
    microphone: 'Microphone',
    speaker: 'Speaker',
    level: 'Microphone level',
    language: 'Language',
    privateTo: 'private to {name}',
    privateFrom: 'private',
    close: 'Close',
    newMessages: '{n} unread',
    lobbyWaiting: 'Please wait: a moderator will let you in shortly.',
    lobbyNoModerator: 'No moderator is in the room yet. Please keep waiting: a moderator can let you in once they arrive.',
    lobbyAdmitted: 'You may enter. Joining…',
    lobbyDenied: 'A moderator did not let you into this meeting.',
    lobbyTimeout: 'Nobody let you in within 30 minutes. Please try again later.',
    lobbyLeft: 'You left the waiting room.',
    lobbyCount: '{n} waiting',
    admit: 'Admit',
    deny: 'Deny',
    admitAll: 'Admit all',
    lobby_full: 'Too many people are waiting to enter this room. Please try again later.',
    no_guest: 'That person is no longer waiting.',
    waiting: 'You are still waiting to be let in.',
  },
  de: {
    yourName: 'Dein Name',
    join: 'Beitreten',
    joining: 'Beitreten …',
    mic: 'Mikrofon an/aus',
    cam: 'Kamera an/aus',
    leave: 'Verlassen',
    you: 'Du',
    noCamera: 'Keine Kamera gefunden: Teilnahme nur mit Audio.',
    noMedia: 'Weder Kamera noch Mikrofon: Du kannst zuhören und zusehen.',
    left: 'Du hast das Meeting verlassen.',
    disconnected: 'Verbindung verloren.',
    unknownCaller: 'Unbekannter Anrufer',
    room_not_found: 'Diesen Raum gibt es nicht.',
    invalid_name: 'Bitte gib einen Namen ein (bis zu 64 Zeichen).',
    error: 'Etwas ist schiefgegangen.',
    people: 'Teilnehmende',
    quality_good: 'Verbindung gut',
    quality_fair: 'Verbindung mäßig',
    quality_poor: 'Verbindung schlecht',
    share: 'Bildschirm teilen',
    stopShare: 'Teilen beenden',
    shareNeedsCamera: 'Zum Bildschirmteilen braucht es beim Beitreten eine Kamera.',
    phoneCaller: 'Per Telefon',
    chat: 'Chat',
    raiseHand: 'Hand heben',
    lowerHand: 'Hand senken',
    everyone: 'Alle',
    send: 'Senden',
    message: 'Nachricht',
    sendTo: 'Senden an',
    moderator: 'Moderation',
    counts: '{web} im Browser, {phone} per Telefon',
    muteAll: 'Alle stummschalten',
    lock: 'Raum sperren',
    unlock: 'Raum entsperren',
    endMeeting: 'Meeting beenden',
    confirmEnd: 'Das Meeting für alle beenden?',
    mute: 'Stummschalten',
    remove: 'Entfernen',
    hangUp: 'Auflegen',
    rename: 'Umbenennen',
    newName: 'Neuer Name',
    makeModerator: 'Zur Moderation machen',
    handRaised: 'Hand gehoben',
    muted: 'Stumm',
    locked: 'Raum gesperrt',
    removed: 'Die Moderation hat Dich aus dem Meeting entfernt.',
    ended: '{by} hat das Meeting beendet.',
    mutedBy: '{by} hat Dein Mikrofon stummgeschaltet.',
    muteLocked: 'Von Moderation stummgeschaltet (gesperrt)',
    lockMute: 'Stummschalten und sperren',
    unlockMute: 'Stummschaltung entsperren',
    mute_locked: 'Die Moderation hat Dein Mikrofon gesperrt.',
    room_locked: 'Dieser Raum ist gesperrt. Bitte die Moderation, ihn zu entsperren.',
    sign_in_required: 'Dieser Raum ist nur für angemeldete Personen. Bitte zuerst unter /login anmelden oder den erhaltenen Einladungslink öffnen.',
    link_expired: 'Dieser Einladungslink ist abgelaufen. Bitte die einladende Person um einen neuen.',
    link_invalid: 'Dieser Einladungslink gilt nicht mehr. Bitte die einladende Person um einen neuen.',
    forbidden: 'Das darf nur die Moderation.',
    no_participant: 'Diese Person ist nicht mehr da.',
    bad_chat: 'Nachrichten müssen 1 bis 2000 Zeichen lang sein.',
    reconnecting: 'Verbindung verloren. Verbinde neu …',
    speakerView: 'Sprecheransicht',
    gridView: 'Rasteransicht',
    pin: 'Anheften',
    unpin: 'Lösen',
    prevPage: 'Vorherige Seite',
    nextPage: 'Nächste Seite',
    pageOf: 'Seite {page} von {pages}',
    settings: 'Geräte',
    camera: 'Kamera',
    microphone: 'Mikrofon',
    speaker: 'Lautsprecher',
    level: 'Mikrofonpegel',
    language: 'Sprache',
    privateTo: 'privat an {name}',
    privateFrom: 'privat',
    close: 'Schließen',
    newMessages: '{n} ungelesen',
    lobbyWaiting: 'Bitte warte: Eine Moderatorin oder ein Moderator lässt dich gleich herein.',
    lobbyNoModerator: 'Noch ist niemand aus der Moderation im Raum. Bitte warte weiter: Sobald jemand da ist, kann man dich hereinlassen.',
    lobbyAdmitted: 'Du darfst eintreten. Beitreten …',
    lobbyDenied: 'Die Moderation hat dich nicht in dieses Meeting gelassen.',
    lobbyTimeout: 'Niemand hat dich innerhalb von 30 Minuten hereingelassen. Bitte versuche es später noch einmal.',
    lobbyLeft: 'Du hast den Warteraum verlassen.',
    lobbyCount: '{n} warten',
    admit: 'Hereinlassen',
    deny: 'Ablehnen',
    admitAll: 'Alle hereinlassen',
    lobby_full: 'Zu viele Personen warten auf Einlass in diesen Raum. Bitte versuche es später noch einmal.',
    no_guest: 'Diese Person wartet nicht mehr.',
    waiting: 'Du wartest noch auf Einlass.',
  },
};

/** @typedef {keyof typeof strings.en} Key */

/**
 * lang picks German or English from the browser's language.
 * @param {string} language navigator.language
 * @returns {'de'|'en'}
 */
export function lang(language) {
  return language.toLowerCase().startsWith('de') ? 'de' : 'en';
}

/** @type {'de'|'en'|''} a language the user picked with the switch */
let chosen = '';
try {
  const saved = localStorage.getItem('dialroom.lang');
  if (saved === 'de' || saved === 'en') chosen = saved;
} catch {}

/** @returns {'de'|'en'} the language in use */
export function currentLang() {
  return chosen || lang(navigator.language || 'en');
}

/**
 * setLang switches the language and remembers the choice.
 * @param {'de'|'en'} l
 */
export function setLang(l) {
  chosen = l;
  try {
    localStorage.setItem('dialroom.lang', l);
  } catch {}
}

/**
 * t returns the UI string for key in the current language, with {name}
 * placeholders filled from vars.
 * @param {string} key
 * @param {Record<string, string|number>} [vars]
 * @returns {string}
 */
export function t(key, vars) {
  const table = /** @type {Record<string, string>} */ (strings[currentLang()]);
  let s = table[key] ?? strings.en[/** @type {Key} */ (key)] ?? key;
  for (const [k, v] of Object.entries(vars || {})) s = s.replaceAll(`{${k}}`, String(v));
  return s;
}
